// Issue 16 item 3 end to end: a lead plays a recording from the board in the real renderer
// (Chromium with a persistent profile: disk cache on, the hard case), through the dev host
// (main's real services) and a real gateway (PGlite) holding an encrypted recording of a known
// tone written through the recorder's path (RecordingsService.begin / push / finish). Plays,
// seeks, changes speed; then no file under the Chromium profile or the dev host's app data
// directory holds the audio (byte runs of the tone's PCM, the same as float32, a WAV header).
// Also the benchmark: click play -> first audio p50/p95, and seek latency (printed).
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../deploy/stack';
import { TEST_ARGON2 } from '../../server/config';
import { openDatabase } from '../../server/db/connect';
import { createGateway, type Gateway } from '../../server/gateway';
import { createOrg, createUser } from '../../server/orgs';
import { interleave } from '../../server/recordings/audio';
import { CHROMIUM, startTestDevHost } from '../support/devhost-harness';
import { memoryKeytar } from '../support/memory-keytar';

const PASSWORD = 'Sakura-Koe-2026!';
const SECONDS = 40;
const RATE = 8000;
const tmp = mkdtempSync(path.join(process.env.TMPDIR ?? os.tmpdir(), 'koe-rec-e2e-'));
const profileDir = path.join(tmp, 'chromium-profile');

/** The customer's tone (left, 440 Hz) and the operator's (right, 1000 Hz) with a slow ramp, so every window of samples is unique. */
function tone(): Buffer {
  const n = RATE * SECONDS;
  const l = new Int16Array(n);
  const r = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    const ramp = 6000 + (i % 7919);
    l[i] = Math.round(ramp * Math.sin((2 * Math.PI * 440 * i) / RATE));
    r[i] = Math.round(ramp * Math.sin((2 * Math.PI * 1000 * i) / RATE));
  }
  return interleave(l, r);
}
const PCM = tone();

/** What must not be on disk: 48-byte runs of the PCM at several points played, the same left samples as float32, a WAV header. */
function signatures(): { name: string; bytes: Buffer }[] {
  const out: { name: string; bytes: Buffer }[] = [];
  for (const s of [0.2, 1.5, 6.1, 21.3, 33.7]) {
    const off = Math.round(s * RATE) * 4;
    out.push({ name: `pcm@${s}s`, bytes: PCM.subarray(off, off + 48) });
    const f = Buffer.alloc(4 * 12);
    for (let i = 0; i < 12; i++) f.writeFloatLE(PCM.readInt16LE(off + i * 4) / 32768, i * 4);
    out.push({ name: `float32@${s}s`, bytes: f });
  }
  return out;
}

function filesUnder(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    // a directory Chromium removed while we walk; a missing root shows in the "scanned" count asserted below
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return names.flatMap((f) => {
    const p = path.join(dir, f);
    let st;
    try {
      st = statSync(p);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []; // removed while walking (Chromium's temporaries)
      throw err;
    }
    return st.isDirectory() ? filesUnder(p) : st.isFile() ? [p] : [];
  });
}

/** Every file under `dirs` that holds one of the signatures, or a RIFF....WAVE header. */
function audioOnDisk(dirs: string[]): string[] {
  const sigs = signatures();
  const hits: string[] = [];
  for (const file of dirs.flatMap(filesUnder)) {
    let data: Buffer;
    try {
      data = readFileSync(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // removed since listed
      throw err;
    }
    for (const s of sigs) if (data.includes(s.bytes)) hits.push(`${file}: ${s.name}`);
    for (let i = data.indexOf('RIFF'); i >= 0; i = data.indexOf('RIFF', i + 1)) {
      if (data.subarray(i + 8, i + 12).toString('latin1') === 'WAVE') hits.push(`${file}: RIFF....WAVE at ${i}`);
    }
  }
  return hits;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};

let gw: Gateway;
let host: Awaited<ReturnType<typeof startTestDevHost>>;
let context: BrowserContext;
let page: Page;
let recordingId = '';
let leadId = '';

beforeAll(async () => {
  const port = await freePort('tcp');
  const db = await openDatabase({ kind: 'pglite', dataDir: null });
  gw = await createGateway({
    db,
    config: {
      argon2: TEST_ARGON2,
      dataDir: path.join(tmp, 'gateway'),
      jwt: { secret: 'recordings-e2e-secret-0123456789-abcdef' },
      authRateLimit: { capacity: 100_000, refillPerMinute: 100_000 },
      corsOrigins: [`http://127.0.0.1:${port}`],
      recordings: { dir: path.join(tmp, 'gateway-recordings'), keks: [{ id: 'e2e', key: randomBytes(32).toString('base64') }] },
    },
  });
  await gw.app.listen({ port: 0, host: '127.0.0.1' });
  const gatewayUrl = `http://127.0.0.1:${(gw.app.server.address() as { port: number }).port}`;
  const ctx = gw.ctx;
  const orgId = await createOrg(ctx, `録音再生 ${randomUUID().slice(0, 8)}`, { totpRequiredRoles: [], deviceBindingRoles: [] });
  const tag = randomUUID().slice(0, 6);
  leadId = await createUser(ctx, { orgId, username: `lead.${tag}`, displayName: '主任 佐藤', role: 'team_lead', password: PASSWORD });
  const opId = await createUser(ctx, { orgId, username: `op.${tag}`, displayName: 'オペレーター 山田', role: 'operator', password: PASSWORD });
  const now = new Date();
  const campaignId = randomUUID();
  await ctx.db
    .insertInto('campaigns')
    .values({ id: campaignId, org_id: orgId, name: '録音窓口', time_zone: 'Asia/Tokyo', weekly_hours: '{}', closed_dates: '[]', dispositions: '["解決"]', blocked_numbers: '[]', created_at: now, updated_at: now })
    .execute();
  await ctx.db.insertInto('campaign_assignments').values({ user_id: opId, campaign_id: campaignId, org_id: orgId }).execute();
  const teamId = randomUUID();
  await ctx.db.insertInto('teams').values({ id: teamId, org_id: orgId, name: 'チームA' }).execute();
  await ctx.db.insertInto('team_members').values([{ team_id: teamId, user_id: leadId, member_role: 'lead' }, { team_id: teamId, user_id: opId, member_role: 'operator' }]).execute();
  const callId = randomUUID();
  const sipCallId = `rec-${tag}@e2e`;
  await ctx.db
    .insertInto('calls')
    .values({
      id: callId, org_id: orgId, sip_call_id: sipCallId, operator_id: opId, campaign_id: campaignId, customer_id: null, caller_e164: '+819011112222', dialled_e164: '+81312345678',
      blocked: false, status: 'ended', ringing_at: now, answered_at: now, ended_at: now, disposition: '解決', wrap_up_seconds: 10, created_at: now, updated_at: now,
    })
    .execute();
  // written the way the recorder writes (20 ms frames), with a secure-capture gap from 10 s to 14 s
  const active = await ctx.recordings.begin({ id: callId, org_id: orgId, sip_call_id: sipCallId, campaign_id: campaignId, operator_id: opId });
  for (let off = 0; off < PCM.length; off += 640) {
    if (off === 10 * RATE * 4) active.pause();
    if (off === 14 * RATE * 4) active.resume();
    active.push(PCM.subarray(off, off + 640));
  }
  await ctx.recordings.finish(active);
  recordingId = active.id;
  // the gap is silence in the recording: the signatures are taken outside it

  host = await startTestDevHost({ port, managedPolicy: { gatewayUrl }, keytar: memoryKeytar(), deviceName: 'KOE-REC-PC', userDataDir: path.join(tmp, 'app-data') });
  context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required'],
  });
  page = await context.newPage();
  await page.goto(host.pageUrl());
  await page.getByLabel('ユーザー名').fill(`lead.${tag}`);
  await page.getByLabel('パスワード').fill(PASSWORD);
  await page.getByRole('button', { name: 'サインイン' }).click();
  await page.getByTestId('lead-board').waitFor();
}, 120_000);

afterAll(async () => {
  await context?.close().catch(() => undefined);
  await host?.close().catch(() => undefined);
  await gw?.close().catch(() => undefined);
  rmSync(tmp, { recursive: true, force: true });
});

/** Clicks `selector` in the page and resolves with the ms from the click to the first audio the player scheduled after it. */
async function clickToAudio(selector: string, how: 'click' | 'ArrowRight' | 'Home' = 'click'): Promise<number> {
  return page.evaluate(
    async ({ selector, how }) => {
      const el = document.querySelector(selector) as HTMLElement;
      const t0 = performance.now();
      if (how === 'click') el.click();
      else el.dispatchEvent(new KeyboardEvent('keydown', { key: how, bubbles: true }));
      for (;;) {
        const m = performance.getEntriesByName('koe:recording-audio').find((e) => e.startTime > t0);
        if (m) return m.startTime - t0;
        await new Promise((r) => setTimeout(r, 2));
      }
    },
    { selector, how },
  );
}

describe('recordings in the app (Chromium, dev host, real gateway)', () => {
  it('the lead plays a recording from the board, seeks and changes speed; the gap is marked; nothing offers to save it', async () => {
    const item = page.locator(`[data-testid="recent-recording"][data-recording-id="${recordingId}"]`);
    await item.waitFor();
    expect(await item.textContent()).toContain('オペレーター 山田');
    await item.getByTestId('recording-play').click();
    const player = page.getByTestId('recording-player');
    await player.waitFor();
    expect(await page.getByTestId('rp-gap').getAttribute('data-start-ms')).toBe('10000');
    expect(await page.locator('audio, video, a[download]').count()).toBe(0);

    await page.getByTestId('rp-toggle').click();
    await page.locator('[data-testid="recording-player"][data-status="playing"]').waitFor();
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="recording-player"]')!.getAttribute('data-position-ms')) >= 1500);
    // keyboard seek: +5 s from ~1.5 s
    await page.getByTestId('rp-seek').focus();
    await page.keyboard.press('ArrowRight');
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="recording-player"]')!.getAttribute('data-position-ms')) >= 6500);
    await page.getByTestId('rp-speed').selectOption('2');
    await page.locator('[data-testid="recording-player"][data-rate="2"][data-status="playing"]').waitFor();
    // a jump past the gap: End, then back 15 s, plays on
    await page.getByTestId('rp-seek').focus();
    await page.keyboard.press('End');
    for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowLeft');
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="recording-player"]')!.getAttribute('data-position-ms')) >= 27_000);
    await page.getByTestId('rp-toggle').click();
    await page.locator('[data-testid="recording-player"][data-status="paused"]').waitFor();

    // the gateway audited the playback and counted what was served (how long listened)
    const rows = await gw.ctx.db.selectFrom('recording_playbacks').selectAll().where('recording_id', '=', recordingId).where('user_id', '=', leadId).execute();
    expect(rows.length).toBeGreaterThanOrEqual(1);
    expect(Math.max(...rows.map((r) => Number((r as { listened_ms?: number }).listened_ms ?? 0)))).toBeGreaterThan(27_000);
    const audit = await gw.ctx.db.selectFrom('audit_log').select('action').where('action', '=', 'recording.played').execute();
    expect(audit.length).toBe(rows.length);
  }, 120_000);

  it('bench: click play -> first audio (p50/p95) and seek latency', async () => {
    const open = `[data-testid="recent-recording"][data-recording-id="${recordingId}"] [data-testid="recording-play"]`;
    const firstAudio: number[] = [];
    const seeks: number[] = [];
    // the player from the previous test is open: close it, then open, play, close, 15 times
    await page.getByTestId('rp-close').click();
    for (let i = 0; i < 15; i++) {
      await page.locator(open).click();
      await page.getByTestId('recording-player').waitFor();
      firstAudio.push(await clickToAudio('[data-testid="rp-toggle"]'));
      if (i === 0) {
        for (let k = 0; k < 20; k++) seeks.push(await clickToAudio('[data-testid="rp-seek"]', k % 4 === 3 ? 'Home' : 'ArrowRight'));
      }
      await page.getByTestId('rp-close').click();
    }
    const fmt = (xs: number[]) => `p50 ${pct(xs, 50).toFixed(1)} ms, p95 ${pct(xs, 95).toFixed(1)} ms, max ${Math.max(...xs).toFixed(1)} ms (n=${xs.length})`;
    console.log(`[bench] recordings: click play -> first audio ${fmt(firstAudio)}`);
    console.log(`[bench] recordings: seek (keyboard) -> audio ${fmt(seeks)}`);
    expect(firstAudio.every((x) => x > 0)).toBe(true);
    expect(seeks.every((x) => x > 0)).toBe(true);
  }, 180_000);

  it('after playback no file under the Chromium profile or the app data directory holds the audio', async () => {
    // the check must be able to see the audio: the signatures are in the recording the player fetched
    const wav = await gw.ctx.db.selectFrom('recordings').select(['plain_bytes']).where('id', '=', recordingId).executeTakeFirstOrThrow();
    expect(Number(wav.plain_bytes)).toBe(PCM.length);
    await page.close();
    await context.close(); // Chromium writes its caches out on close
    const hits = audioOnDisk([profileDir, host.userDataDir]);
    const scanned = filesUnder(profileDir).length + filesUnder(host.userDataDir).length;
    console.log(`[recordings e2e] scanned ${scanned} files of the profile and the app data directory: ${hits.length} hold audio`);
    expect(scanned).toBeGreaterThan(10); // a real profile was written (not an incognito context)
    expect(hits).toEqual([]);
  }, 60_000);
});
