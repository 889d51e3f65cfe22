// `npm run stack`: the whole local telephony stack in the foreground with the demo data
// (seed --demo). Prints URLs, DIDs and demo accounts; Ctrl-C stops everything.
//   npm run stack -- [--gateways N] [--kamailios N] [--postgres [URL]]
// --gateways 2 --kamailios 2 --postgres: the local HA stack (docs/telephony.md "Several
// gateways, several Kamailio"): two gateway instances on a throwaway PostgreSQL (or URL), two
// Kamailio nodes sharing registrations, each with its own rtpengine.
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { hoursStatus } from '../shared/rules/business-hours';
import { formatPhone } from '../shared/rules/phone-format';
import { campaignHours } from '../server/crm/views';
import { jsonColumn } from '../server/db/json-column';
import { DEMO_PASSWORD, DEMO_USERS } from '../server/seed';
import { sipUserOf } from '../server/sip/agents';
import { startThrowawayPostgres, type ThrowawayPostgres } from './pg-throwaway';
import { startStack } from './stack';

const USAGE = 'usage: npm run stack -- [--gateways 1-4] [--kamailios 1-4] [--postgres [URL]]';
let args: ReturnType<typeof parseArgs<{ options: { gateways: { type: 'string' }; kamailios: { type: 'string' }; postgres: { type: 'boolean' }; help: { type: 'boolean' } }; allowPositionals: true }>>;
try {
  args = parseArgs({ options: { gateways: { type: 'string' }, kamailios: { type: 'string' }, postgres: { type: 'boolean' }, help: { type: 'boolean' } }, allowPositionals: true });
} catch (e) {
  console.error(`stack: ${(e as Error).message}\n${USAGE}`);
  process.exit(2);
}
if (args.values.help) {
  console.log(USAGE);
  process.exit(0);
}
const count = (v: string | undefined, name: string): number => {
  if (v === undefined) return 1;
  if (!/^[1-4]$/.test(v)) {
    console.error(`stack: --${name} must be 1 to 4, got "${v}"\n${USAGE}`);
    process.exit(2);
  }
  return Number(v);
};
const gateways = count(args.values.gateways, 'gateways');
const kamailios = count(args.values.kamailios, 'kamailios');
// --postgres [URL]: the URL (a positional after the flag), else a throwaway cluster
const pgUrl = args.positionals.find((p) => /^postgres(ql)?:\/\//.test(p)) ?? process.env.DATABASE_URL;
if (gateways > 1 && !args.values.postgres) {
  console.error(`stack: --gateways ${gateways} needs --postgres (the instances share one PostgreSQL; PGlite is one process)\n${USAGE}`);
  process.exit(2);
}
let pg: ThrowawayPostgres | null = null;
let postgresUrl: string | undefined;
if (args.values.postgres) {
  if (pgUrl) postgresUrl = pgUrl;
  else {
    pg = await startThrowawayPostgres().catch((e: Error) => {
      console.error(`stack: ${e.message}`);
      process.exit(1);
    });
    postgresUrl = pg.url;
  }
}

const dataDir = process.env.KOE_STACK_DATA_DIR ?? null;
// `npm start` passes the dev host's origin (CORS for the renderer's direct gateway calls) and
// asks for a client policy file pointing the app at this stack.
const corsOrigins = process.env.KOE_STACK_CORS_ORIGINS?.split(',').map((s) => s.trim()).filter(Boolean);
const stack = await startStack({
  dataDir,
  seedDemo: true,
  gatewayPort: Number(process.env.KOE_GATEWAY_PORT ?? 8787),
  gateways,
  kamailios,
  ...(postgresUrl ? { postgresUrl } : {}),
  ...(corsOrigins?.length ? { gatewayConfig: { corsOrigins: ['koe://app', ...corsOrigins] } } : {}),
}).catch(async (e: Error) => {
  console.error(`stack: ${e.message}`);
  await pg?.stop();
  process.exit(1);
});
const { db } = stack.gateway.ctx;
// What `npm run demo-call` can dial: each campaign's DIDs, who takes its calls, whether it is
// open now, and callers who are its customers (their card pops), one who is not, one blocked
const campaigns = await db.selectFrom('campaigns').selectAll().orderBy('name').execute();
const dids = await db.selectFrom('campaign_dids').select(['campaign_id', 'e164']).orderBy('e164').execute();
const assigned = await db
  .selectFrom('campaign_assignments')
  .innerJoin('users', 'users.id', 'campaign_assignments.user_id')
  .select(['campaign_assignments.campaign_id', 'users.username'])
  .orderBy('users.username')
  .execute();
const callers = await db.selectFrom('customer_phones').select(['campaign_id', 'e164']).orderBy('e164').execute();
const line = (n: string) => `${n.padEnd(14)} (${formatPhone(n)})`;
console.log('==================== Koe local telephony stack (DEMO DATA) ====================');
console.log(`gateway      ${stack.gatewayUrl}   (${postgresUrl ? `PostgreSQL${pg ? ', throwaway' : ''}` : `PGlite ${dataDir ?? 'in memory'}`})`);
for (const g of stack.gateways.slice(1)) console.log(`gateway ${g.index}    ${g.url}   (child process ${g.process?.pid}, log ${g.log})`);
console.log(`SIP domain   ${stack.sip.domain}`);
console.log(`SIP WSS      ${stack.sip.wssUrl}   (self-signed dev certificate: ${stack.runDir}/tls/cert.pem)`);
console.log(`SIP WS       ${stack.sip.wsUrl}   (loopback only)`);
console.log(`SIP UDP      ${stack.sip.udp.host}:${stack.sip.udp.port}   trunk (trusted) must send from ${stack.sip.trunk.host}:${stack.sip.trunk.port}`);
console.log(`rtpengine ng ${stack.rtpengine.ngHost}:${stack.rtpengine.ngPort}`);
for (const n of stack.nodes.slice(1)) {
  console.log(`node ${n.index}       SIP WSS ${n.sip.wssUrl}, WS ${n.sip.wsUrl}, UDP ${n.sip.udp.host}:${n.sip.udp.port}, rtpengine ng ${n.rtpengine.ngHost}:${n.rtpengine.ngPort}, logs ${n.logs.kamailio}`);
}
console.log(`logs         ${stack.runDir}/kamailio.log, rtpengine.log`);
console.log('campaigns    (npm run demo-call -- <DID> <caller>; hours in Japan time)');
for (const c of campaigns) {
  const open = hoursStatus(campaignHours(c), new Date()).openNow;
  const own = callers.filter((x) => x.campaign_id === c.id).map((x) => x.e164);
  const blocked = jsonColumn<string[] | null>(c.blocked_numbers) ?? [];
  console.log(`  ${c.name}   ${open ? 'OPEN now' : 'CLOSED now: calls are refused 480 Closed'}; operators: ${assigned.filter((a) => a.campaign_id === c.id).map((a) => a.username).join(', ') || 'none'}`);
  for (const d of dids.filter((x) => x.campaign_id === c.id)) console.log(`    DID     ${line(d.e164)}`);
  for (const n of own.slice(0, 2)) console.log(`    caller  ${line(n)}  a customer: the card pops`);
  if (blocked[0]) console.log(`    caller  ${line(blocked[0])}  on the block list: refused 603`);
}
const first = (role: string) => DEMO_USERS.find((u) => u.role === role)!;
const operator = first('operator');
const operatorCampaign = campaigns.find((c) => assigned.some((a) => a.campaign_id === c.id && a.username === operator.username));
const example = operatorCampaign && [dids.find((d) => d.campaign_id === operatorCampaign.id)?.e164, callers.find((x) => x.campaign_id === operatorCampaign.id)?.e164];
if (example?.[0] && example[1]) console.log(`  e.g. sign in as ${operator.username}, press 受付可 (ready), then: npm run demo-call -- ${example[0]} ${example[1]}`);
console.log(`DEMO users, password for each: ${DEMO_PASSWORD}   (DEMO ONLY)`);
for (const u of DEMO_USERS) console.log(`  DEMO ${u.username.padEnd(16)} ${u.role.padEnd(10)} sip:${sipUserOf(u.username)}@${stack.sip.domain}${u.role === 'admin' ? '  (asks to set up TOTP at first sign-in)' : ''}`);
console.log('Ctrl-C stops everything.');
// Endpoints for `npm run demo-call` (no secret in it).
mkdirSync(new URL('../.koe-data/', import.meta.url), { recursive: true });
writeFileSync(new URL('../.koe-data/stack.json', import.meta.url), JSON.stringify({ gatewayUrl: stack.gatewayUrl, trunk: stack.sip.trunk, udp: stack.sip.udp }, null, 2));
if (process.env.KOE_STACK_POLICY_FILE) {
  // Loopback ws:// for SIP: Chromium refuses the self-signed dev certificate on wss://.
  writeFileSync(process.env.KOE_STACK_POLICY_FILE, JSON.stringify({ gatewayUrl: stack.gatewayUrl, sipWssUrl: stack.sip.wsUrl }, null, 2));
  console.log(`client policy ${process.env.KOE_STACK_POLICY_FILE}`);
}
console.log('===============================================================================');
// Who answered each demo call, by SIP Call-ID, for `npm run demo-call` (demo data only: a
// username and a Call-ID, the last 50 calls)
const answers = new Map<string, string>();
const answersFile = new URL('../.koe-data/demo-answers.json', import.meta.url);
writeFileSync(answersFile, '{}');
stack.gateway.ctx.agents.subscribe((change) => {
  const fresh = change.state.calls.filter((c) => c.direction === 'inbound' && c.answeredAt !== null && !answers.has(c.callId));
  if (fresh.length === 0) return;
  for (const c of fresh) answers.set(c.callId, change.username);
  while (answers.size > 50) answers.delete(answers.keys().next().value!);
  try {
    writeFileSync(answersFile, JSON.stringify(Object.fromEntries(answers)));
  } catch (err) {
    console.error(`stack: could not note who answered a demo call: ${(err as Error).message}`);
  }
});
let stopping = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (stopping) return;
    stopping = true;
    void stack
      .stop()
      .then(() => pg?.stop())
      .then(() => process.exit(0));
  });
}
