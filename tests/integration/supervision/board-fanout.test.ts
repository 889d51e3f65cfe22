// The board's fan-out (issue 14, server/supervision/board.ts): a change of an operator is read
// ONCE per instance and sent to every board socket there that may see the operator; a burst of
// changes is one read; and who gets the row is decided per socket on the row as read at push
// time (the operator's teams' leads, the org, enabled, calls:handle), so sharing the read does
// not widen anything: a lead taken off the team, a socket whose principal ended or narrowed, a
// disabled operator, another team's lead get nothing.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../../../server/auth/principal-type';
import { authenticate } from '../../../server/principal';
import { wireJson } from '../../../server/ws/wire';
import { BACKENDS, setup, type Harness, type TestUser } from '../gateway/harness';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One board socket: its principal (settable: null = revoked) and what it was sent. */
interface Sub {
  name: string;
  principal: Principal | null;
  got: Record<string, any>[];
  stop: () => void;
}

describe.each(BACKENDS)('the board fan-out on %s', (backend) => {
  let h: Harness;
  const subs: Sub[] = [];
  let opX: TestUser; // team A's operator
  let opY: TestUser; // team B's operator
  let leads: TestUser[] = []; // lead team A
  let leadB: TestUser;
  let admin: TestUser; // users:read: the whole org; subscribed LAST: its update means the push loop is done
  let teamA = '';

  const principal = async (u: TestUser) => authenticate(h.gw.ctx, `Bearer ${await h.token(u)}`, '127.0.0.1');
  async function subscribe(name: string, u: TestUser): Promise<Sub> {
    const s: Sub = { name, principal: await principal(u), got: [], stop: () => undefined };
    s.stop = await h.gw.ctx.supervision.subscribeBoard(() => s.principal, (m) => s.got.push(m));
    subs.push(s);
    return s;
  }
  const updatesOf = (s: Sub, userId: string) => s.got.filter((m) => m.type === 'boardUpdate' && m.operator.userId === userId);
  async function until(cond: () => boolean, what: string): Promise<void> {
    for (let i = 0; i < 500 && !cond(); i++) await sleep(10);
    expect(cond(), what).toBe(true);
  }
  const stats = () => ({ ...h.gw.ctx.supervision.boardStats });
  const by = (name: string) => subs.find((s) => s.name === name)!;

  beforeAll(async () => {
    h = await setup(backend);
    opX = await h.newUser('operator');
    opY = await h.newUser('operator');
    leads = [await h.newUser('team_lead', 'lead'), await h.newUser('team_lead', 'lead'), await h.newUser('team_lead', 'lead')];
    leadB = await h.newUser('team_lead', 'lead');
    admin = h.users.admin;
    teamA = randomUUID();
    const teamB = randomUUID();
    await h.db.insertInto('teams').values([{ id: teamA, org_id: h.orgId, name: 'A' }, { id: teamB, org_id: h.orgId, name: 'B' }]).execute();
    await h.db
      .insertInto('team_members')
      .values([
        ...leads.map((l) => ({ team_id: teamA, user_id: l.id, member_role: 'lead' as const })),
        { team_id: teamA, user_id: opX.id, member_role: 'operator' },
        { team_id: teamB, user_id: leadB.id, member_role: 'lead' },
        { team_id: teamB, user_id: opY.id, member_role: 'operator' },
      ])
      .execute();
    // both operators connected (the model accepts availability changes of a connected operator only)
    for (const u of [opX, opY]) expect((await h.gw.ctx.agents.apply({ userId: u.id, orgId: h.orgId, username: u.username }, { type: 'connected' })).kind).toBe('accepted');
    // two sockets per lead of team A, one for team B's lead, one that will be revoked, the admin last
    for (const [i, l] of leads.entries()) {
      await subscribe(`lead${i}a`, l);
      await subscribe(`lead${i}b`, l);
    }
    await subscribe('leadB', leadB);
    await subscribe('revoked', leads[0]!);
    await subscribe('admin', admin);
    for (const s of subs) expect(s.got.filter((m) => m.type === 'board'), s.name).toHaveLength(1);
    expect(by('lead0a').got[0]!.operators.map((o: any) => o.userId)).toEqual([opX.id]);
  });
  afterAll(async () => {
    for (const s of subs) s.stop();
    await h?.close();
  });

  it('reads a change once for every socket on the instance, and sends it only to those who may see the operator', async () => {
    const before = stats();
    await h.gw.ctx.agents.apply({ userId: opX.id, orgId: h.orgId, username: opX.username }, { type: 'setAvailability', state: 'break', reason: null });
    await until(() => updatesOf(by('admin'), opX.id).length === 1, 'the admin sees the change');
    for (const s of subs.filter((s) => s.name.startsWith('lead') && s.name !== 'leadB')) {
      expect(updatesOf(s, opX.id).map((m) => m.operator.state), s.name).toEqual(['break']);
    }
    expect(updatesOf(by('leadB'), opX.id)).toEqual([]); // not team B's
    expect(updatesOf(by('revoked'), opX.id)).toHaveLength(1); // (not revoked yet)
    // 8 sockets watched it: ONE read
    expect(stats().reads - before.reads).toBe(1);
  });

  it('coalesces a burst of one operator\'s changes into one read and one update per socket', async () => {
    const before = stats();
    const seen = updatesOf(by('admin'), opX.id).length;
    for (let i = 0; i < 50; i++) h.gw.ctx.supervision.touch(opX.id);
    await until(() => updatesOf(by('admin'), opX.id).length === seen + 1, 'the burst reaches the admin');
    expect(stats().reads - before.reads).toBe(1);
    expect(stats().changes - before.changes).toBe(50);
    for (const s of subs.filter((s) => s.name.startsWith('lead0'))) expect(updatesOf(s, opX.id).length, s.name).toBe(2);
  });

  it('a revoked socket and a lead taken off the team (its principal in memory unchanged) get nothing more; the others still do', async () => {
    by('revoked').principal = null; // the /ws ended this socket's principal
    // lead2 is taken off team A in the database: its principal (in memory) is unchanged
    await h.db.deleteFrom('team_members').where('team_id', '=', teamA).where('user_id', '=', leads[2]!.id).execute();
    const counts = new Map(subs.map((s) => [s.name, updatesOf(s, opX.id).length]));
    await h.gw.ctx.agents.apply({ userId: opX.id, orgId: h.orgId, username: opX.username }, { type: 'setAvailability', state: 'not_ready', reason: null });
    await until(() => updatesOf(by('admin'), opX.id).length === counts.get('admin')! + 1, 'the admin sees the change');
    const grew = (name: string) => updatesOf(by(name), opX.id).length - counts.get(name)!;
    expect(grew('lead0a')).toBe(1);
    expect(grew('lead0b')).toBe(1);
    expect(grew('lead1a')).toBe(1);
    expect(grew('lead1b')).toBe(1);
    expect(grew('lead2a')).toBe(0);
    expect(grew('lead2b')).toBe(0);
    expect(grew('revoked')).toBe(0);
    expect(grew('leadB')).toBe(0);
  });

  it('a disabled operator\'s row reaches nobody; a change of team B\'s operator reaches team B\'s lead only', async () => {
    await h.db.updateTable('users').set({ disabled: true }).where('id', '=', opX.id).execute();
    const counts = new Map(subs.map((s) => [s.name, updatesOf(s, opX.id).length]));
    h.gw.ctx.supervision.touch(opX.id);
    h.gw.ctx.supervision.touch(opY.id); // in the same batch: the admin's update of Y means X's was decided
    await until(() => updatesOf(by('admin'), opY.id).length === 1, 'the admin sees Y');
    for (const s of subs) expect(updatesOf(s, opX.id).length, s.name).toBe(counts.get(s.name));
    expect(updatesOf(by('leadB'), opY.id)).toHaveLength(1);
    for (const s of subs.filter((s) => s.name.startsWith('lead') && s.name !== 'leadB')) expect(updatesOf(s, opY.id), s.name).toEqual([]);
    await h.db.updateTable('users').set({ disabled: false }).where('id', '=', opX.id).execute();
  });

  it('serialises an update once for every socket: the same message, whose wire JSON is that message', async () => {
    await h.gw.ctx.agents.apply({ userId: opX.id, orgId: h.orgId, username: opX.username }, { type: 'setAvailability', state: 'not_ready', reason: null });
    await until(() => updatesOf(by('admin'), opX.id).at(-1)?.operator.state === 'not_ready', 'the admin sees the change');
    // every socket still watching X (the admin and team A's leads' sockets left by the tests above)
    const sent = subs.flatMap((s) => updatesOf(s, opX.id).slice(-1)).filter((m) => m.operator.state === 'not_ready');
    expect(sent.length).toBeGreaterThanOrEqual(3);
    for (const m of sent) expect(m).toBe(sent[0]); // one object for all of them (no customer name differs)
    expect(Object.isFrozen(sent[0])).toBe(true);
    expect(wireJson(sent[0])).toBe(JSON.stringify(sent[0]));
    // a message not made by once() is serialised as it is now
    const plain = { type: 'x', n: 1 };
    expect(wireJson(plain)).toBe('{"type":"x","n":1}');
    plain.n = 2;
    expect(wireJson(plain)).toBe('{"type":"x","n":2}');
  });
});
