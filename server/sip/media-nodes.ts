// Which rtpengine holds a call (issue 14, "telephony past one box"). With several Kamailio
// nodes each anchors its calls on its own rtpengine (koe.cfg KOE_RTPENGINE_SOCK), and reports
// it as `media` in the routing lookup (KOE_MEDIA_NODE); the gateway records it on the call row
// (calls.media_node, migration 0008). A call without a recorded node (an outbound call, a
// transfer leg, a node that did not report, a report naming no configured node) is found by
// asking every configured rtpengine with ng `query`, and then recorded.
//
// MediaNodes speaks the same `command(name, args)` as one NgClient, and sends each command to
// the node holding args['call-id'] (supervision keeps using one client; it does not know there
// are several). Commands without a call-id are refused: they have no node.
import type { Db } from '../db/schema';
import { NgClient, NgError, type Bencodable } from '../supervision/ng';

const NODE = /^[0-9.]{7,15}:\d{1,5}$/;

/** The ng commands supervision needs (one NgClient, or MediaNodes over several). */
export interface NgCommander {
  command(command: string, args?: Record<string, Bencodable | undefined>): Promise<Record<string, unknown>>;
  close(): void;
}

export class MediaNodes implements NgCommander {
  private readonly clients = new Map<string, NgClient>();

  constructor(
    private readonly db: Db,
    /** Every rtpengine ng address ("host:port") the Kamailio nodes use. */
    nodes: readonly string[],
    private readonly warn: (message: string) => void = (m) => console.warn(m),
    clientOpts: { timeoutMs?: number; retries?: number } = { timeoutMs: 500, retries: 2 },
  ) {
    for (const n of nodes) {
      if (!NODE.test(n)) throw new Error(`media nodes: not an IPv4 host:port: ${n}`);
      const [host, port] = n.split(':');
      this.clients.set(n, new NgClient(host!, Number(port), clientOpts));
    }
    if (this.clients.size === 0) throw new Error('media nodes: none configured');
  }

  get nodes(): string[] {
    return [...this.clients.keys()];
  }

  /** The one ng client of a configured node (supervision shares it rather than open its own). */
  client(node: string): NgClient | undefined {
    return this.clients.get(node);
  }

  /**
   * Kamailio's report from the routing lookup: `node` anchors `callId`. A node that is not one of
   * the configured ones is not recorded (logged): the lookup by `query` finds the real one.
   */
  async record(callId: string, node: string): Promise<boolean> {
    if (!node) return false;
    if (!this.clients.has(node)) {
      this.warn(`media nodes: Kamailio reported rtpengine ${JSON.stringify(node.slice(0, 64))}, not a configured node (sip.rtpengineNodes): ignored`);
      return false;
    }
    await this.db.updateTable('calls').set({ media_node: node }).where('sip_call_id', '=', callId).execute();
    return true;
  }

  /**
   * The node holding the call: the recorded one if it still knows the call, else the one of all
   * nodes that answers `query` for it (then recorded). null: no node knows the call. A node that
   * cannot be asked (down) is skipped with a warning; if none could be asked, it throws.
   */
  async nodeFor(callId: string): Promise<string | null> {
    const recorded = await this.recorded(callId);
    const order = recorded && this.clients.has(recorded) ? [recorded, ...this.nodes.filter((n) => n !== recorded)] : this.nodes;
    let asked = 0;
    let lastError: unknown = null;
    for (const node of order) {
      try {
        await this.clients.get(node)!.command('query', { 'call-id': callId });
      } catch (e) {
        if (e instanceof NgError && /unknown call/i.test(e.message)) {
          asked++;
          continue;
        }
        lastError = e;
        this.warn(`media nodes: rtpengine ${node} could not be asked about a call: ${(e as Error).message}`);
        continue;
      }
      if (node !== recorded) {
        await this.db.updateTable('calls').set({ media_node: node }).where('sip_call_id', '=', callId).execute();
      }
      return node;
    }
    if (asked === 0 && lastError) throw lastError;
    return null;
  }

  private async recorded(callId: string): Promise<string | null> {
    const row = await this.db.selectFrom('calls').select('media_node').where('sip_call_id', '=', callId).where('media_node', 'is not', null).limit(1).executeTakeFirst();
    return row?.media_node && this.clients.has(row.media_node) ? row.media_node : null;
  }

  /**
   * One ng command, sent to the node holding args['call-id']; when no node answers `query` for it
   * (a call just deleted: rtpengine still takes `unsubscribe` during delete-delay), to the recorded
   * node, whose own answer counts; `unknown call` when there is none.
   */
  async command(command: string, args: Record<string, Bencodable | undefined> = {}): Promise<Record<string, unknown>> {
    const callId = args['call-id'];
    if (typeof callId !== 'string') throw new NgError(`ng ${command}: no call-id, so no media node to send it to`);
    const node = (await this.nodeFor(callId)) ?? (await this.recorded(callId));
    if (!node) throw new NgError(`ng ${command}: Unknown call-id (no media node holds it)`);
    return this.clients.get(node)!.command(command, args);
  }

  /** Every node's live Call-IDs (ng `list`); one node failing throws (the watchdog then repairs nothing). */
  async liveCalls(list: (ng: NgClient) => Promise<string[]>): Promise<string[]> {
    const all = await Promise.all([...this.clients.values()].map((c) => list(c)));
    return [...new Set(all.flat())];
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
  }
}
