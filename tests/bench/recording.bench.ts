// Recording bench: CPU of the gateway's recorder per concurrently recorded call, packet loss,
// and storage per minute. The recorder is the real one (server/recordings/capture.ts: RTP
// sockets, G.711 decode, placement, stereo interleave, AES-256-GCM chunks, file writes, index
// rows in PGlite); rtpengine is replaced by a stand-in that answers query / subscribe like
// rtpengine 10.5 (tests/integration/telephony/recording.test.ts covers the real one), and the
// RTP of every party (PCMU, 20 ms packets, like rtpengine forwards it) comes from a child
// process, so its CPU is not counted. CPU is this process's user+system time over the window.
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../server/clock';
import { TEST_ARGON2 } from '../../server/config';
import { openDatabase } from '../../server/db/connect';
import { createGateway } from '../../server/gateway';
import { createOrg, createUser } from '../../server/orgs';
import { BYTES_PER_SECOND } from '../../server/recordings/audio';
import { Recorder } from '../../server/recordings/capture';
import { DEFAULT_CHUNK_BYTES, layout } from '../../server/recordings/format';
import type { NgClient } from '../../server/supervision/ng';
import type { Bench, Table } from './run';

const COUNTS = (process.env.KOE_BENCH_RECORDING_CALLS ?? '10,50,100,200').split(',').map(Number);
const WINDOW_MS = Number(process.env.KOE_BENCH_RECORDING_WINDOW_MS ?? 10_000);
const OFFER = ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=rtpengine', 't=0 0',
  'm=audio 40000 RTP/AVP 0 8 101', 'c=IN IP4 127.0.0.1', 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:8 PCMA/8000', 'a=rtpmap:101 telephone-event/8000', 'a=sendonly',
  'm=audio 40002 RTP/AVP 0 8 101', 'c=IN IP4 127.0.0.1', 'a=mid:1', 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:8 PCMA/8000', 'a=rtpmap:101 telephone-event/8000', 'a=sendonly', ''].join('\r\n');

/** The RTP sender: every port gets a PCMU packet (160 samples of a tone) every 20 ms. */
const SENDER = `
const dgram = require('node:dgram');
const ports = process.argv.slice(1).map(Number);
const s = dgram.createSocket('udp4');
function ulaw(x){const B=0x84;let v=Math.max(-32635,Math.min(32635,Math.round(x)));const sg=v<0?0x80:0;if(v<0)v=-v;v+=B;let e=7;for(let m=0x4000;(v&m)===0&&e>0;m>>=1)e--;return ~(sg|(e<<4)|((v>>(e+3))&0x0f))&0xff;}
let seq=0, ts=0, sent=0; const t0=Date.now();
// one second of each tone, precomputed (the sender must keep up: its loss is not the recorder's)
const tone={}; for(const hz of [440,1000]){tone[hz]=[];for(let j=0;j<50;j++){const b=Buffer.alloc(160);for(let k=0;k<160;k++)b[k]=ulaw(12000*Math.sin(2*Math.PI*hz*(j*160+k)/8000));tone[hz].push(b);}}
function tick(){
  const due=Math.floor((Date.now()-t0)/20);
  while(seq<due){
    for(let i=0;i<ports.length;i++){
      const p=Buffer.alloc(172); p[0]=0x80; p[1]=0; p.writeUInt16BE(seq&0xffff,2); p.writeUInt32BE(ts>>>0,4); p.writeUInt32BE(1000+i,8);
      tone[i%2?1000:440][seq%50].copy(p,12);
      s.send(p, ports[i], '127.0.0.1'); sent++;
    }
    seq++; ts+=160;
  }
}
setInterval(tick, 5);
process.on('SIGTERM', ()=>{ process.stdout.write(String(sent)); process.exit(0); });
`;

const bench: Bench = async (log) => {
  const dir = mkdtempSync(join(tmpdir(), 'koe-rec-bench-'));
  const db = await openDatabase({ kind: 'pglite', dataDir: null });
  const gw = await createGateway({ db, clock: new ManualClock(), config: { argon2: TEST_ARGON2, recordings: { dir, keks: [{ id: 'bench', key: randomBytes(32).toString('base64') }] } } });
  const rows: Record<string, string | number>[] = [];
  try {
    const orgId = await createOrg(gw.ctx, 'bench');
    const opId = await createUser(gw.ctx, { orgId, username: 'bench-op', displayName: 'op', role: 'operator', password: 'Sakura-Koe-2026!' });
    const campaignId = randomUUID();
    const now = new Date();
    await db.insertInto('campaigns').values({ id: campaignId, org_id: orgId, name: 'c', time_zone: 'Asia/Tokyo', weekly_hours: '{}', closed_dates: '[]', dispositions: '[]', blocked_numbers: '[]', created_at: now, updated_at: now, recording_mode: 'all' }).execute();
    const ports = new Map<string, number[]>();
    const fakeNg = {
      async command(cmd: string, args: Record<string, unknown>) {
        if (cmd === 'query') return { tags: { cust: { medias: [{ protocol: 'RTP/AVP' }], subscriptions: [{ type: 'offer/answer' }] }, op: { medias: [{ protocol: 'UDP/TLS/RTP/SAVPF' }], subscriptions: [{ type: 'offer/answer' }] } } };
        if (cmd === 'subscribe request') return { 'to-tag': `sub-${String(args['call-id'])}`, sdp: OFFER };
        if (cmd === 'subscribe answer') ports.set(String(args['call-id']), [...String(args.sdp).matchAll(/m=audio (\d+)/g)].map((m) => Number(m[1])));
        return {};
      },
    } as unknown as NgClient;
    for (const n of COUNTS) {
      const recorder = new Recorder(db, gw.ctx.clock, gw.ctx.agents, gw.ctx.recordings, { forCall: async () => ({ address: 'bench', ng: fakeNg }) }, '127.0.0.1', gw.ctx.bus);
      ports.clear();
      const callIds: string[] = [];
      for (let i = 0; i < n; i++) {
        const callId = `bench-${n}-${i}-${randomUUID()}`;
        await db.insertInto('calls').values({ id: randomUUID(), org_id: orgId, sip_call_id: callId, operator_id: opId, campaign_id: campaignId, customer_id: null, caller_e164: null, dialled_e164: null, blocked: false, status: 'answered', ringing_at: now, answered_at: now, ended_at: null, disposition: null, wrap_up_seconds: null, created_at: now, updated_at: now }).execute();
        if (!(await recorder.maybeRecord(orgId, opId, callId, false))) throw new Error('not recorded');
        callIds.push(callId);
      }
      const sender = spawn(process.execPath, ['-e', SENDER, ...[...ports.values()].flat().map(String)], { stdio: ['ignore', 'pipe', 'inherit'] });
      let sentOut = '';
      sender.stdout.on('data', (d) => (sentOut += d));
      await new Promise((r) => setTimeout(r, 1000)); // warm-up
      const before = recorder.live().reduce((a, l) => a + l.packets[0] + l.packets[1], 0);
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      await new Promise((r) => setTimeout(r, WINDOW_MS));
      const cpu = process.cpuUsage(cpu0);
      const wall = performance.now() - t0;
      const got = recorder.live().reduce((a, l) => a + l.packets[0] + l.packets[1], 0) - before;
      const expected = (n * 2 * wall) / 20;
      sender.kill('SIGTERM');
      await new Promise((r) => sender.once('exit', r));
      await new Promise((r) => setTimeout(r, 300)); // the last packets in flight
      const sent = Number(sentOut);
      const receivedAll = recorder.live().reduce((a, l) => a + l.packets[0] + l.packets[1], 0);
      const t1 = performance.now();
      for (const c of callIds) await recorder.stop(c, opId);
      const sealMs = performance.now() - t1;
      const cpuPct = ((cpu.user + cpu.system) / 1000 / wall) * 100;
      rows.push({
        calls: n, 'cpu % (1 core = 100)': cpuPct, 'cpu % per call': cpuPct / n, 'packets in window / expected': `${got} / ${Math.round(expected)}`,
        'loss % (received / sent, whole run)': Math.max(0, (1 - receivedAll / sent) * 100), 'seal all (ms)': Math.round(sealMs),
      });
      log(`recording bench: ${n} calls: ${cpuPct.toFixed(1)} % CPU, ${got}/${Math.round(expected)} packets`);
      await recorder.close();
    }
  } finally {
    await gw.close();
    await db.destroy().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
  const perMinute = layout(60 * BYTES_PER_SECOND, DEFAULT_CHUNK_BYTES).sizeBytes;
  const tables: Table[] = [
    { title: `Recorder CPU per concurrently recorded call (window ${WINDOW_MS / 1000} s, this machine)`, rows },
    { title: 'Recording storage', rows: [{ format: '8 kHz stereo s16le in AES-256-GCM chunks of 1 s', 'bytes per minute': perMinute, 'MiB per hour': (perMinute * 60) / 1048576, 'overhead vs plain PCM %': ((perMinute - 60 * BYTES_PER_SECOND) / (60 * BYTES_PER_SECOND)) * 100 }] },
  ];
  return tables;
};
export default bench;
