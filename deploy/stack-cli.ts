// `npm run stack`: the whole local telephony stack in the foreground with the demo data
// (seed --demo). Prints URLs, DIDs and demo accounts; Ctrl-C stops everything.
import { mkdirSync, writeFileSync } from 'node:fs';
import { DEMO_PASSWORD, DEMO_USERS } from '../server/seed';
import { sipUserOf } from '../server/sip/agents';
import { startStack } from './stack';

const dataDir = process.env.KOE_STACK_DATA_DIR ?? null;
// `npm start` passes the dev host's origin (CORS for the renderer's direct gateway calls) and
// asks for a client policy file pointing the app at this stack.
const corsOrigins = process.env.KOE_STACK_CORS_ORIGINS?.split(',').map((s) => s.trim()).filter(Boolean);
const stack = await startStack({
  dataDir,
  seedDemo: true,
  gatewayPort: Number(process.env.KOE_GATEWAY_PORT ?? 8787),
  ...(corsOrigins?.length ? { gatewayConfig: { corsOrigins: ['koe://app', ...corsOrigins] } } : {}),
}).catch((e: Error) => {
  console.error(`stack: ${e.message}`);
  process.exit(1);
});
const dids = await stack.gateway.ctx.db
  .selectFrom('campaign_dids')
  .innerJoin('campaigns', 'campaigns.id', 'campaign_dids.campaign_id')
  .select(['campaign_dids.e164', 'campaigns.name'])
  .orderBy('campaigns.name')
  .execute();
console.log('==================== Koe local telephony stack (DEMO DATA) ====================');
console.log(`gateway      ${stack.gatewayUrl}   (PGlite ${dataDir ?? 'in memory'})`);
console.log(`SIP domain   ${stack.sip.domain}`);
console.log(`SIP WSS      ${stack.sip.wssUrl}   (self-signed dev certificate: ${stack.runDir}/tls/cert.pem)`);
console.log(`SIP WS       ${stack.sip.wsUrl}   (loopback only)`);
console.log(`SIP UDP      ${stack.sip.udp.host}:${stack.sip.udp.port}   trunk (trusted) must send from ${stack.sip.trunk.host}:${stack.sip.trunk.port}`);
console.log(`rtpengine ng ${stack.rtpengine.ngHost}:${stack.rtpengine.ngPort}`);
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
    void stack.stop().then(() => process.exit(0));
  });
}
