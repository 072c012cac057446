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
 */
export const ROUTER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=2', '--expose-gc'];
