// Public surface of the link-state routing engine (pure; imports nothing from the rest of the project).
export * from './types.js';
export { RoutingEngine, type LinkInfo } from './engine.js';
export { checkRoutingMessage, parseRoutingMessage, compareAds } from './messages.js';
export { shortestPaths, type SpfNode, type SpfResult } from './spf.js';
export { BinaryHeap } from './heap.js';
