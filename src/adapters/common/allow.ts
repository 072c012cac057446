/**
 * A listener's client allow list (`spec.allow`: addresses and CIDR prefixes): connections from other addresses are
 * closed before any protocol handler sees them, datagrams from them are dropped. IPv4-mapped IPv6 addresses
 * (`::ffff:10.0.0.5`, what a dual-stack socket reports) match IPv4 entries.
 */
import net from 'node:net';
import type { Logger } from '../../observe/log.js';

export class AllowList {
  /** connections (or datagrams) refused so far */
  denied = 0;
  private readonly list = new net.BlockList();

  private constructor(
    readonly entries: readonly string[],
    private readonly log: Logger,
  ) {
    for (const e of entries) {
      const [addr = '', prefix] = e.split('/');
      const type = net.isIPv4(addr) ? 'ipv4' : 'ipv6';
      if (prefix === undefined) this.list.addAddress(addr, type);
      else this.list.addSubnet(addr, Number(prefix), type);
    }
  }

  /** undefined when the listener has no allow list (everyone may connect) */
  static from(entries: readonly string[] | undefined, log: Logger): AllowList | undefined {
    return entries === undefined ? undefined : new AllowList(entries, log);
  }

  allows(address: string | undefined): boolean {
    if (!address) return false;
    const mapped = address.startsWith('::ffff:') ? address.slice(7) : undefined;
    const a = mapped !== undefined && net.isIPv4(mapped) ? mapped : address;
    return this.list.check(a, net.isIPv4(a) ? 'ipv4' : 'ipv6');
  }

  /** Closes connections from addresses not on the list, ahead of the server's own connection handling. */
  guard(server: net.Server): void {
    this.log.info('only clients in the allow list may connect', {
      allow: this.entries.join(', ') || '(none)',
    });
    AllowList.guardWith(server, () => this);
  }

  /**
   * Like guard() with whatever list `current` gives at each connection (undefined: everyone may connect): for
   * a listener that takes a new spec in place.
   */
  static guardWith(server: net.Server, current: () => AllowList | undefined): void {
    server.prependListener('connection', (s: net.Socket) => {
      const list = current();
      if (!list || list.allows(s.remoteAddress)) return;
      list.deny(`${s.remoteAddress ?? 'unknown'}:${s.remotePort ?? 0}`);
      s.destroy();
    });
  }

  /** Counts (and logs at debug) one refused client. */
  deny(client: string): void {
    this.denied++;
    this.log.debug('client refused: its address is not in the listener allow list', { client });
  }
}
