/**
 * Node/V8 flags every router process is started with. They must be on the command line: V8 sizes its heap when the
 * isolate is created, so `v8.setFlagsFromString('--max-semi-space-size=…')` at run time has no effect (measured:
 * new_space still grows to 32 MiB). Every spawner (CLI `site start`/`demo`, the systemd unit, tests, the bench)
 * takes them from here; `bin/caravan-router.js` repeats them in its shebang for direct execution.
 *
 * `--max-semi-space-size=2` caps the young generation at 2 MiB per semi-space (default: grows to 16 MiB): under
 * connection churn the router's RSS otherwise grows by 25–30 MB (docs/design/performance.md, recommendation 6).
 *
 * `--expose-gc` lets the router's idle compactor (src/daemon/idle-compactor.ts) run one full collection once it is
 * quiet after a burst, so memory comes back in about a second instead of V8's own 10–20 s.
 *
 * `--initial-old-space-size=64` lets the old generation grow to 64 MiB before V8 sizes its limit from the live heap.
 * Without it, once the live heap passed 8 MiB (after a few thousand flows: the flow-record ring, routes, code)
 * V8 started a marking cycle every ~50 ms during bulk transfers, and concurrent marking took a quarter of the
 * router's CPU: iperf3 through a router that had seen 10,000 connections fell from 400–520 to 210–290 MB/s. With
 * it, 410–450 MB/s after the same churn (docs/design/performance.md, "Throughput after a burst"). The idle
 * compactor gives the extra garbage back once the router is quiet.
 */
export const ROUTER_NODE_FLAGS: readonly string[] = [
  '--max-semi-space-size=2',
  '--expose-gc',
  '--initial-old-space-size=64',
];
