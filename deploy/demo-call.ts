// `npm run demo-call -- <DID> [caller E.164]`: a "PSTN customer" (baresip on the trusted trunk
// address of the stack `npm start` / `npm run stack` started) calls a DID and plays a 440 Hz
// tone until you press Enter. Reads the stack's endpoints from .koe-data/stack.json.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline/promises';
import { Baresip } from '../tests/integration/telephony/baresip';

const [did, caller = '+819012345678'] = process.argv.slice(2);
if (!did || !/^\+[1-9]\d{6,14}$/.test(did) || !/^\+[1-9]\d{6,14}$/.test(caller)) {
  console.error('usage: npm run demo-call -- <DID in E.164, e.g. +81345001001> [caller E.164]');
  process.exit(2);
}
const infoFile = path.resolve(import.meta.dirname, '../.koe-data/stack.json');
let info: { trunk: { host: string; port: number }; udp: { host: string; port: number } };
try {
  info = JSON.parse(readFileSync(infoFile, 'utf8'));
} catch {
  console.error(`no running stack found (${infoFile}): start one with npm start or npm run stack`);
  process.exit(1);
}
const pstn = await Baresip.start({ trunk: info.trunk, proxy: info.udp, number: caller, toneHz: 440 });
pstn.dial(`sip:${did}@${info.udp.host}:${info.udp.port}`);
console.log(`${caller} is calling ${did} (440 Hz tone). Press Enter to hang up.`);
await createInterface({ input: process.stdin }).question('');
pstn.hangup();
await pstn.stop();
