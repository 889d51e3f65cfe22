// `npm run demo-call -- <DID> [caller E.164]`: a "PSTN customer" (baresip on the trusted trunk
// address of the stack `npm start` / `npm run stack` started) calls a DID and plays a 440 Hz
// tone until you press Enter. Reads the stack's endpoints from .koe-data/stack.json. Says what
// became of the call (answered by whom and when, in the queue, refused, busy, closed, no answer:
// deploy/demo-call-outcome.ts); exits 0 when it was answered, 1 when not.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Baresip } from '../tests/integration/telephony/baresip';
import { callOutcome, type CallEvent } from './demo-call-outcome';

const USAGE = 'usage: npm run demo-call -- <DID in E.164, e.g. +81345001001> [caller E.164]   (the stack banner lists the DIDs and callers)';
const [did, caller = '+819012345678'] = process.argv.slice(2);
if (!did || !/^\+[1-9]\d{6,14}$/.test(did) || !/^\+[1-9]\d{6,14}$/.test(caller)) {
  console.error(USAGE);
  process.exit(2);
}
const dataDir = path.resolve(import.meta.dirname, '../.koe-data');
const infoFile = path.join(dataDir, 'stack.json');
let info: { trunk: { host: string; port: number }; udp: { host: string; port: number } };
try {
  info = JSON.parse(readFileSync(infoFile, 'utf8'));
} catch (err) {
  console.error(`demo-call: no running stack found (${infoFile}: ${(err as Error).message}): start one with npm start or npm run stack`);
  process.exit(1);
}

/** Who answered: the stack (deploy/stack-cli.ts) writes each answered demo call's operator by Call-ID. */
function answeredBy(callId: string | undefined): string | null {
  if (!callId) return null;
  try {
    const answers = JSON.parse(readFileSync(path.join(dataDir, 'demo-answers.json'), 'utf8')) as Record<string, string>;
    return answers[callId] ?? null;
  } catch (err) {
    // an older stack writes none: the outcome then says "an operator"
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') console.error(`demo-call: could not read who answered: ${(err as Error).message}`);
    return null;
  }
}

const pstn = await Baresip.start({ trunk: info.trunk, proxy: info.udp, number: caller, toneHz: 440 }).catch((err: Error) => {
  console.error(`demo-call: baresip did not start: ${err.message.slice(0, 500)}`);
  process.exit(1);
});
const startedAt = Date.now();
pstn.dial(`sip:${did}@${info.udp.host}:${info.udp.port}`);
console.log(`${caller} is calling ${did} (440 Hz tone). Press Enter to hang up.`);

let hungUpByCaller = false;
const lines = createInterface({ input: process.stdin });
lines.on('line', () => {
  hungUpByCaller = true;
  pstn.hangup();
});

const events: CallEvent[] = [];
const said = new Set<string>();
let exitCode = 1;
for (let seen = 0; ; ) {
  await new Promise((r) => setTimeout(r, 50));
  for (; seen < pstn.events.length; seen++) {
    const e = pstn.events[seen]!;
    if (typeof e.type !== 'string' || !e.type.startsWith('CALL_')) continue;
    events.push({ type: e.type, ...(typeof e.param === 'string' ? { param: e.param } : {}), at: Date.now() });
    if (e.type === 'CALL_RINGING' && !said.has('ringing')) console.log(`  ringing an operator (${((Date.now() - startedAt) / 1000).toFixed(1)} s)`);
    if (e.type === 'CALL_PROGRESS' && !said.has('queue')) console.log(`  waiting in the campaign's queue, hearing its announcement (${((Date.now() - startedAt) / 1000).toFixed(1)} s)`);
    said.add(e.type === 'CALL_RINGING' ? 'ringing' : e.type === 'CALL_PROGRESS' ? 'queue' : e.type);
    if (e.type === 'CALL_ESTABLISHED') {
      // the stack writes its note within a few ms of the operator's answer
      let who = answeredBy(typeof e.id === 'string' ? e.id : undefined);
      for (let i = 0; !who && i < 20; i++) {
        await new Promise((r) => setTimeout(r, 100));
        who = answeredBy(typeof e.id === 'string' ? e.id : undefined);
      }
      console.log(`demo-call: ${callOutcome(events, { startedAt, answeredBy: who, hungUpByCaller }).message}. Press Enter to hang up.`);
      exitCode = 0;
    }
    if (e.type === 'CALL_CLOSED') {
      const answered = events.find((x) => x.type === 'CALL_ESTABLISHED');
      if (answered) {
        const by = hungUpByCaller ? 'you hung up' : 'the operator hung up';
        console.log(`demo-call: the call ended after ${((Date.now() - answered.at) / 1000).toFixed(1)} s in conversation: ${by}.`);
      } else {
        console.log(`demo-call: ${callOutcome(events, { startedAt, answeredBy: null, hungUpByCaller }).message}.`);
      }
      lines.close();
      await pstn.stop();
      process.exit(exitCode);
    }
  }
}
