#!/usr/bin/env -S node --max-semi-space-size=2 --expose-gc --initial-old-space-size=64
// The flags must be given to node itself (V8 sizes its heap at start-up); spawners use ROUTER_NODE_FLAGS
// (src/site/node-flags.ts), this shebang covers running the file directly.
import '../dist/src/daemon/main.js';
