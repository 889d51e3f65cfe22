// `npm run stack`: the whole local telephony stack in the foreground with the demo data
// (seed --demo). Prints URLs, DIDs and demo accounts; Ctrl-C stops everything.
//   npm run stack -- [--gateways N] [--kamailios N] [--postgres [URL]]
// --gateways 2 --kamailios 2 --postgres: the local HA stack (docs/telephony.md "Several
// gateways, several Kamailio"): two gateway instances on a throwaway PostgreSQL (or URL), two
// Kamailio nodes sharing registrations, each with its own rtpengine.
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
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
const dids = await stack.gateway.ctx.db
  .selectFrom('campaign_dids')
  .innerJoin('campaigns', 'campaigns.id', 'campaign_dids.campaign_id')
  .select(['campaign_dids.e164', 'campaigns.name'])
  .orderBy('campaigns.name')
  .execute();
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
for (const d of dids) console.log(`  DID ${d.e164.padEnd(14)} -> ${d.name}`);
console.log(`DEMO password for every demo user: ${DEMO_PASSWORD}`);
for (const u of DEMO_USERS) console.log(`  DEMO ${u.username.padEnd(16)} sip:${sipUserOf(u.username)}@${stack.sip.domain}  (${u.role})`);
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
