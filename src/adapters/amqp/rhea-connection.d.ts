// rhea accepts a socket from any server through its Connection class (its own listen() would own the server);
// the class is not in rhea's typings, so this declares the two members used.
declare module 'rhea/lib/connection.js' {
  import type { Socket } from 'node:net';
  import type { Connection as RheaConnection, Container } from 'rhea';

  class Connection {
    constructor(options: Record<string, unknown>, container: Container);
    accept(socket: Socket): RheaConnection;
  }
  export default Connection;
}
