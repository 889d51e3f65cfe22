// `npm run screenshots`: the README's screenshots from the real app, in Japanese and in English
// (docs/screenshots/<lang>/<name>.png, overwritten; the list in scripts/screenshots-plan.ts).
// Builds if out/ is older than the sources, starts a throwaway stack (gateway on PGlite, or on a
// scratch database of KOE_TEST_DATABASE_URL's PostgreSQL; Kamailio; rtpengine) with the demo
// data, three dev hosts (operator, team lead, admin) and Debian Chromium at 1366x768, and plays
// an operator's call: baresip, a demo customer, calls the operator's campaign's DID. Everything
// it started is stopped at the end, on failure and on Ctrl-C. Needs the packages of
// `bash .ci/run` and fonts-noto-cjk (it refuses without a Japanese font).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { assertTelephonyPackages, freePort, logTail, stackLogs, startStack, type Stack } from '../deploy/stack';
import { DEMO_CAMPAIGNS, seedDemoCrm } from '../server/crm/seed';
import { createOrg } from '../server/orgs';
import { DEMO_ORG, DEMO_PASSWORD, DEMO_USERS, seedDemo } from '../server/seed';
import { toE164 } from '../shared/rules/phone';
import { Baresip } from '../tests/integration/telephony/baresip';
import { memoryKeytar, operatorPage, setReady, type OperatorPage } from '../tests/e2e/softphone-support';
import { launchChromium, ROOT, startTestDevHost } from '../tests/support/devhost-harness';
import { createScratchDatabase } from '../tests/support/pg-database';
import { fontRefusal, LANGUAGES, needsBuild, SCREENS, screenshotPath, screenshotsIndex, VIEWPORT, type Language } from './screenshots-plan';

const say = (m: string) => console.log(`screenshots: ${m}`);
const user = (role: 'operator' | 'team_lead' | 'admin') => DEMO_USERS.find((u) => u.role === role)!;

// -- what must be there before anything starts ----------------------------------------------------
const fc = spawnSync('fc-list', [':lang=ja', 'family'], { encoding: 'utf8' });
const refusal = fontRefusal(fc.error ? null : (fc.stdout ?? ''));
if (refusal) {
  console.error(refusal);
  process.exit(1);
}
assertTelephonyPackages({ baresip: true, chromium: true });

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
    const p = path.join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}
const builtAt = (() => {
  try {
    return Math.min(...['out/renderer/index.html', 'out/devhost/bridge.js'].map((f) => statSync(path.join(ROOT, f)).mtimeMs));
  } catch {
    return null; // not built yet
  }
})();
if (needsBuild(builtAt, Math.max(...['renderer', 'main', 'preload', 'shared'].map((d) => newestMtime(path.join(ROOT, d)))))) {
  say('building (out/ is missing or older than the sources)…');
  const build = spawnSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  if (build.status !== 0) {
    console.error('screenshots: npm run build failed (above); no screenshot taken');
    process.exit(build.status ?? 1);
  }
}

// -- everything started is stopped, in reverse order, once ----------------------------------------
const stops: { what: string; stop: () => Promise<unknown> }[] = [];
let stopping: Promise<void> | null = null;
function stopAll(): Promise<void> {
  stopping ??= (async () => {
    for (const s of stops.reverse()) {
      await s.stop().catch((e: unknown) => console.error(`screenshots: stopping ${s.what} failed: ${(e as Error).message}`));
    }
  })();
  return stopping;
}
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    say(`${sig}: stopping what was started…`);
    void stopAll().then(() => process.exit(130));
  });
}

/** Switches the app's language the way the settings do (main keeps it), and waits for the page to follow. */
async function setLanguage(page: Page, language: Language): Promise<void> {
  await page.evaluate(async (language) => void (await window.koe.settings.setLanguage({ language })), language);
  await page.waitForFunction((language) => document.documentElement.lang === language, language);
  await page.evaluate(() => document.fonts.ready.then(() => undefined));
  await page.waitForTimeout(250); // the re-render and its transitions settle
}

/** The screen `name` of `page` in each language, ja first (the page is left in Japanese). */
async function capture(page: Page, name: string): Promise<void> {
  const screen = SCREENS.find((s) => s.name === name);
  if (!screen) throw new Error(`no screen named ${name} in scripts/screenshots-plan.ts`);
  for (const language of LANGUAGES) {
    await setLanguage(page, language);
    const file = path.join(ROOT, screenshotPath(language, screen));
    mkdirSync(path.dirname(file), { recursive: true });
    await page.screenshot({ path: file, animations: 'disabled', caret: 'hide' });
    say(`wrote ${screenshotPath(language, screen)}`);
  }
  await setLanguage(page, 'ja');
}

async function run(): Promise<void> {
  // -- the stack and its demo data
  const ports = { operator: await freePort('tcp'), lead: await freePort('tcp'), admin: await freePort('tcp') };
  let postgresUrl: string | undefined;
  if (process.env.KOE_TEST_DATABASE_URL) {
    const scratch = await createScratchDatabase(process.env.KOE_TEST_DATABASE_URL, 'koe_screenshots', 1);
    stops.push({ what: 'the scratch database', stop: () => scratch.drop() });
    postgresUrl = scratch.url;
  }
  say(`starting the stack (gateway on ${postgresUrl ? 'PostgreSQL' : 'PGlite'}, Kamailio, rtpengine)…`);
  const starting = startStack({
    ...(postgresUrl ? { postgresUrl } : {}),
    gatewayConfig: { corsOrigins: Object.values(ports).map((p) => `http://127.0.0.1:${p}`) },
  });
  // a Ctrl-C while it starts stops it once started (a failed start cleans up after itself)
  stops.push({ what: 'the stack', stop: () => starting.then((s) => s.stop(), () => undefined) });
  const stack: Stack = await starting;
  const ctx = stack.gateway.ctx;
  // The demo org made first with this run's policy (seedDemo keeps an org of that name): no
  // second factor or device approval to pass, a wrap-up long enough to photograph
  const orgId = await createOrg(ctx, DEMO_ORG, { totpRequiredRoles: [], deviceBindingRoles: [], agents: { wrapUpSeconds: 120 } });
  await seedDemo(ctx);
  await seedDemoCrm(ctx, orgId);
  // calls ring whatever the hour of the run (the hours stay as the demo shows them)
  await ctx.db.updateTable('campaigns').set({ enforce_hours: false }).where('org_id', '=', orgId).execute();
  const campaign = DEMO_CAMPAIGNS.find((c) => (c.assigned as readonly string[]).includes(user('operator').username))!;
  const did = toE164(campaign.dids[0])!;
  const caller = await ctx.db
    .selectFrom('calls')
    .innerJoin('campaigns', 'campaigns.id', 'calls.campaign_id')
    .select('calls.caller_e164')
    .where('campaigns.name', '=', campaign.name)
    .executeTakeFirstOrThrow(); // the demo customer with a past call and an open note
  if (!caller.caller_e164) throw new Error(`the demo campaign ${campaign.name} has no past call with a caller's number`);
  const callerNumber = caller.caller_e164;

  const browser: Browser = await launchChromium();
  stops.push({ what: 'Chromium', stop: () => browser.close() });

  // -- nobody signed in, then the admin console
  const adminHost = await startTestDevHost({ port: ports.admin, managedPolicy: { gatewayUrl: stack.gatewayUrl, sipWssUrl: stack.sip.wsUrl }, keytar: memoryKeytar(), deviceName: 'KOE-IT-PC' });
  stops.push({ what: "the admin's dev host", stop: () => adminHost.close() });
  const adminContext = await browser.newContext({ viewport: VIEWPORT });
  const admin = await adminContext.newPage();
  await admin.goto(adminHost.pageUrl());
  await admin.getByTestId('app-version').waitFor({ state: 'attached' });
  await capture(admin, '01-sign-in');
  await admin.getByLabel('ユーザー名').fill(user('admin').username);
  await admin.getByLabel('パスワード', { exact: true }).fill(DEMO_PASSWORD);
  await admin.getByRole('button', { name: 'サインイン' }).click();
  await admin.getByTestId('admin-open').click();
  await admin.getByTestId('admin-tab-users').click();
  await admin.getByTestId(`user-open-${user('operator').username}`).waitFor();
  await capture(admin, '08-admin-users');

  // -- the operator and the team lead (two dev hosts: two PCs)
  const open = async (who: 'operator' | 'team_lead', port: number, toneHz: number): Promise<Page> => {
    const p: OperatorPage = await operatorPage(browser, stack, { username: user(who).username, password: DEMO_PASSWORD, port, toneHz, ready: false });
    stops.push({ what: `the ${who}'s dev host`, stop: () => p.close() });
    await p.page.setViewportSize(VIEWPORT);
    return p.page;
  };
  const op = await open('operator', ports.operator, 1000);
  await setReady(op);
  await capture(op, '02-operator-ready');
  const lead = await open('team_lead', ports.lead, 2500);
  await lead.getByTestId('lead-board').waitFor();

  // -- the customer calls
  const pstn = await Baresip.start({ trunk: stack.sip.trunk, proxy: stack.sip.udp, number: callerNumber, toneHz: 440 });
  stops.push({ what: 'baresip', stop: () => pstn.stop() });
  pstn.dial(`sip:${did}@${stack.sip.domain}`);
  await op.getByTestId('ringing').waitFor({ timeout: 15_000 }).catch((e: Error) => {
    throw new Error(`${e.message}\n${logTail(stackLogs(stack).kamailio, 40)}`);
  });
  await op.getByTestId('customer-name').waitFor();
  await capture(op, '03-ringing');
  await op.getByTestId('answer').click();
  await op.locator('[data-testid="call"][data-phase="established"]').waitFor({ timeout: 10_000 });
  await op.getByTestId('note-text').fill('住所変更のご相談。新住所は書面で確認済み。');
  await op.getByTestId('note-save').click();
  await op.locator('[data-testid="note-item"][data-status="saved"]').first().waitFor({ timeout: 10_000 });
  await op.getByTestId('note-text').fill('カードの再送を希望。');
  await op.waitForTimeout(2000); // the call timer shows a few seconds
  await capture(op, '04-on-call');

  const row = `[data-testid="board-row"][data-username="${user('operator').username}"]`;
  await lead.locator(`${row}[data-state="on_call"]`).waitFor({ timeout: 10_000 });
  await lead.locator(row).getByTestId('board-customer').waitFor();
  await capture(lead, '06-lead-board');
  await lead.getByTestId(`monitor-${user('operator').username}`).click();
  await lead.locator('[data-testid="supervision-panel"][data-status="listening"]').waitFor({ timeout: 10_000 });
  await lead.getByTestId('supervision-panel').scrollIntoViewIfNeeded(); // below the board in the centre region
  await capture(lead, '07-lead-monitoring');

  // -- the customer hangs up: wrap-up
  pstn.hangup();
  await op.getByTestId('wrapup').waitFor({ timeout: 10_000 });
  await op.getByTestId('disposition').selectOption(campaign.dispositions[0]);
  await capture(op, '05-wrap-up');

  writeFileSync(path.join(ROOT, 'docs/screenshots/README.md'), screenshotsIndex());
  say(`done: ${SCREENS.length * LANGUAGES.length} screenshots and docs/screenshots/README.md`);
}

let failed = false;
try {
  await run();
} catch (e) {
  failed = true;
  console.error(`screenshots: failed: ${(e as Error).stack ?? String(e)}`);
} finally {
  await stopAll();
}
process.exit(failed ? 1 : 0);
