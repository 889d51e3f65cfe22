// The rtpengines supervision talks to (issue 14): one ng client per address (a configured media
// node's client is the one MediaNodes holds; only an address outside them gets its own), since a session is
// torn down on the engine that holds it (its row records which), and the engine a new session
// goes to: the one holding the call when there are several (server/sip/media-nodes.ts), else
// this instance's own (sip.rtpengineNg).
import { GatewayError } from '../errors';
import type { MediaNodes } from '../sip/media-nodes';
import { NgClient } from './ng';

export class SupervisionEngines {
  private readonly clients = new Map<string, NgClient>();

  constructor(
    /** This instance's rtpengine (host:port) for new sessions; absent: no supervision started here. */
    private readonly ngAddress: string | undefined,
    /** Several rtpengines: a new session goes to the one holding the call. */
    private readonly mediaNodes: MediaNodes | null = null,
  ) {}

  /** Whether this instance can start sessions (and so polls the live ones). */
  get configured(): boolean {
    return Boolean(this.ngAddress || this.mediaNodes);
  }

  /** The ng client for `address`: the media nodes' own when it is one of theirs, else one kept here. */
  engine(address: string): NgClient {
    const shared = this.mediaNodes?.client(address);
    if (shared) return shared;
    let ng = this.clients.get(address);
    if (!ng) {
      const [host, port] = address.split(':');
      ng = new NgClient(host!, Number(port), { timeoutMs: 500, retries: 2 });
      this.clients.set(address, ng);
    }
    return ng;
  }

  /** The engine a new session on `callId` goes to. */
  async forNewSession(callId: string): Promise<{ address: string; ng: NgClient }> {
    const node = this.mediaNodes ? await this.mediaNodes.nodeFor(callId) : null;
    if (node) return { address: node, ng: this.engine(node) };
    if (!this.ngAddress || !/^[^:]+:\d+$/.test(this.ngAddress)) throw new GatewayError('not_found', 'supervision is not configured on this gateway (sip.rtpengineNg)');
    return { address: this.ngAddress, ng: this.engine(this.ngAddress) };
  }

  /** Closes the clients kept here; the media nodes' clients are closed by their owner. */
  close(): void {
    for (const ng of this.clients.values()) ng.close();
  }
}
