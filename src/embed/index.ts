/**
 * The embedding API: a Node program joins the network in-process, connects to routing keys and serves them.
 *
 *   import { CaravanNode } from 'caravan/embed';
 *   const node = await CaravanNode.start({ dir: '/var/lib/caravan/sites/app' });
 *   const db = await node.connect('db.orders');          // a Duplex to a connector anywhere in the network
 *   node.serve('payments', (socket) => httpServer.emit('connection', socket));
 *
 * See docs/design/embed.md.
 */
export { CaravanNode, type ConnectOptions, type StartOptions } from './node.js';
export { FlowSocket, type FlowInfo } from './flow-socket.js';
export { EmbeddedService, type ServeOptions, type ServiceHandler } from './service.js';
export { CaravanError, ErrorCodes, isCaravanError, type ErrorCode } from '../errors.js';
