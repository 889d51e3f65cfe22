// Every admin console screen, in the real renderer in Chromium against a real gateway (issue 17):
// axe-core finds no critical or serious violation, in Japanese and in English; and every control
// of every section is reached with the keyboard alone (Tab from the section's tab), so no action
// needs a mouse. Also the screens around the console an admin passes through (sign-in, work view).
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../deploy/stack';
import { seriousA11yViolations } from '../support/axe';
import { launchChromium, startTestDevHost } from '../support/devhost-harness';
import { startLoopbackGateway } from '../support/gateway-harness';
import { memoryKeytar } from './softphone-support';

type Gw = Awaited<ReturnType<typeof startLoopbackGateway>>;
let gw: Gw;
let browser: Browser;
let devhostPort: number;
const hosts: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  devhostPort = await freePort('tcp');
  gw = await startLoopbackGateway({ deviceBindingRoles: [] }, { corsOrigins: [`http://127.0.0.1:${devhostPort}`] });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  for (const h of hosts) await h.close();
  await gw?.close();
});

let operatorName = '';
const teamName = '一課';
const campaignName = '電気料金窓口';

async function signedInAdmin(): Promise<Page> {
  const admin = await gw.addUser('admin', '山本 管理者');
  // rows in every list: users, a team, a campaign with a DID and an assignment
  const operator = await gw.addUser('operator', '佐藤 花子');
  operatorName = operator.username;
  await gw.addUser('team_lead', '鈴木 一郎');
  const team = await gw.asAdmin<{ id: string }>('POST', '/admin/teams', { name: teamName });
  expect(team.status).toBe(200);
  const campaign = await gw.asAdmin<{ id: string }>('POST', '/campaigns', { name: campaignName, dids: ['+81312345678'], dispositions: ['解決', '折り返し'], hours: { timeZone: 'Asia/Tokyo', weekly: { mon: [{ open: '09:00', close: '18:00' }] } } });
  expect(campaign.status, JSON.stringify(campaign.body)).toBe(200);
  expect((await gw.asAdmin('PUT', `/campaigns/${campaign.body.id}/assignments`, { userIds: [operator.id] })).status).toBe(200);
  const host = await startTestDevHost({ managedPolicy: { gatewayUrl: gw.url, idleTimeoutSeconds: 600 }, keytar: memoryKeytar(), deviceName: 'KOE-IT-PC', port: devhostPort });
  hosts.push(host);
  const page = await browser.newPage();
  await page.goto(host.pageUrl());
  await page.getByRole('heading', { name: 'サインイン' }).waitFor();
  expect(await seriousA11yViolations(page), 'sign-in screen').toEqual([]);
  await page.getByLabel('ユーザー名').fill(admin.username);
  await page.getByLabel('パスワード', { exact: true }).fill(admin.password);
  await page.getByRole('button', { name: 'サインイン' }).click();
  await page.getByTestId('home').waitFor();
  return page;
}

/** What in the open panel a user can operate, and which of those Tab reached from the section's tab. */
async function keyboardReach(page: Page, sectionId: string): Promise<{ controls: string[]; missed: string[]; path: string[] }> {
  const path: string[] = [];
  await page.getByTestId(`admin-tab-${sectionId}`).focus();
  await page.evaluate(() => {
    for (const el of document.querySelectorAll('[data-koe-reached]')) el.removeAttribute('data-koe-reached');
  });
  const panel = page.getByTestId(`admin-section-${sectionId}`);
  // Tab until focus leaves the panel (or a generous bound): mark each control focus lands on
  for (let i = 0; i < 400; i++) {
    await page.keyboard.press('Tab');
    const inside = await page.evaluate((id) => {
      const a = document.activeElement;
      const p = document.querySelector(`[data-testid="admin-section-${id}"]`);
      const name = a ? `${a.tagName.toLowerCase()}[${a.getAttribute('data-testid') ?? a.id}]` : 'none';
      if (!a || !p || !p.contains(a)) return `outside:${name}`;
      a.setAttribute('data-koe-reached', '1');
      return name;
    }, sectionId);
    path.push(inside);
    if (inside.startsWith('outside:') && i > 0) break;
  }
  const found = await panel.evaluate((p) => {
    const visible = (el: Element) => (el as HTMLElement).offsetParent !== null && !el.closest('[hidden]');
    const all = [...p.querySelectorAll('button, input, select, textarea, a[href], [tabindex]:not([tabindex="-1"])')].filter(
      (el) => visible(el) && !(el as HTMLButtonElement).disabled,
    );
    const name = (el: Element) => `${el.tagName.toLowerCase()}[${el.getAttribute('data-testid') ?? el.getAttribute('aria-label') ?? el.textContent?.trim().slice(0, 30)}]`;
    // radio groups: one stop per group is the keyboard pattern (arrows move inside)
    const reachedGroups = new Set(all.filter((el) => el.hasAttribute('data-koe-reached') && (el as HTMLInputElement).type === 'radio').map((el) => (el as HTMLInputElement).name));
    const missed = all.filter((el) => !el.hasAttribute('data-koe-reached') && !((el as HTMLInputElement).type === 'radio' && reachedGroups.has((el as HTMLInputElement).name)));
    return { controls: all.map(name), missed: missed.map(name) };
  });
  return { ...found, path };
}

describe('admin console: accessibility and the keyboard alone (Chromium + axe-core + real gateway)', () => {
  it('every console section: no critical or serious axe violation (ja and en), every control reached by Tab', async () => {
    const page = await signedInAdmin();
    expect(await seriousA11yViolations(page), 'work view').toEqual([]);
    // the console is opened with the keyboard too
    await page.getByTestId('admin-open').focus();
    await page.keyboard.press('Enter');
    await page.getByTestId('admin-console').waitFor();
    const tabs = await page.getByRole('tab').evaluateAll((els) => els.map((e) => e.getAttribute('data-testid')!.replace('admin-tab-', '')));
    console.log(`console sections: ${tabs.join(', ')}`);
    expect(tabs.length).toBeGreaterThan(0);
    const report: string[] = [];
    for (const [i, id] of tabs.entries()) {
      // arrive by keyboard: from the first tab, ArrowDown i times
      await page.getByTestId(`admin-tab-${tabs[0]}`).focus();
      for (let k = 0; k < i; k++) await page.keyboard.press('ArrowDown');
      const focused = await page.evaluate(() => document.activeElement?.getAttribute('data-testid') ?? document.activeElement?.tagName ?? null);
      expect(`${id}: ${await page.getByTestId(`admin-tab-${id}`).getAttribute('aria-selected')}, focus on ${focused}`).toBe(`${id}: true, focus on admin-tab-${id}`);
      await page.getByTestId(`admin-section-${id}`).waitFor();
      await page.waitForTimeout(300); // the section's first load
      expect(await seriousA11yViolations(page, '[data-testid="admin-console"]'), `section ${id} (ja)`).toEqual([]);
      const reach = await keyboardReach(page, id);
      report.push(`${id}: ${reach.controls.length} controls, ${reach.missed.length} not reached by Tab`);
      expect(reach.missed, `section ${id}: controls Tab does not reach (Tab went: ${reach.path.join(' > ')})`).toEqual([]);
    }
    // the forms and editors behind the buttons, opened (a user's detail, a new campaign, a campaign's editor, a team's editor)
    const openers: [string, string[]][] = [
      ['users', ['users-create-open']],
      ['users', [`user-open-${operatorName}`]],
      ['teams', [`team-open-${teamName}`]],
      ['campaigns', ['campaign-new']],
      ['campaigns', [`campaign-open-${campaignName}`]],
    ];
    for (const [id, clicks] of openers) {
      await page.getByTestId(`admin-tab-${id}`).click();
      for (const c of clicks) {
        await page.getByTestId(c).click();
        await page.waitForTimeout(300);
      }
      expect(await seriousA11yViolations(page, '[data-testid="admin-console"]'), `${id} with ${clicks.join(', ')} open`).toEqual([]);
      const reach = await keyboardReach(page, id);
      report.push(`${id} (${clicks.join(', ')} open): ${reach.controls.length} controls, ${reach.missed.length} not reached by Tab`);
      expect(reach.missed, `${id} with ${clicks.join(', ')} open: controls Tab does not reach (Tab went: ${reach.path.join(' > ')})`).toEqual([]);
    }
    console.log(report.join('\n'));
    // the checks can fail: an unlabelled field and a button without a name put into the console are found
    await page.evaluate(() => {
      const probe = document.createElement('div');
      probe.id = 'a11y-probe';
      probe.innerHTML = '<input type="text"><button type="button"></button>';
      document.querySelector('[data-testid="admin-console"]')!.append(probe);
    });
    expect((await seriousA11yViolations(page, '[data-testid="admin-console"]')).map((v) => v.id).sort()).toEqual(['button-name', 'label']);
    await page.evaluate(() => document.getElementById('a11y-probe')!.remove());
    // English: the same screens, other strings (lengths, lang attribute)
    await page.evaluate(async () => void (await window.koe.settings.setLanguage({ language: 'en' })));
    await page.getByRole('tab', { name: 'Users' }).or(page.getByRole('tab').first()).first().waitFor();
    for (const [i, id] of tabs.entries()) {
      await page.getByTestId(`admin-tab-${tabs[0]}`).focus();
      for (let k = 0; k < i; k++) await page.keyboard.press('ArrowDown');
      await page.waitForTimeout(200);
      expect(await seriousA11yViolations(page, '[data-testid="admin-console"]'), `section ${id} (en)`).toEqual([]);
    }
  }, 180_000); // every section twice and five editors, axe and a Tab walk each: 60 s on an idle machine, more on a loaded one

  it('an operator and a team lead are offered no console, and the gateway refuses them every admin route', async () => {
    for (const role of ['operator', 'team_lead']) {
      const u = await gw.addUser(role, `${role} テスト`);
      const token = await gw.client.token(u.username, u.password);
      const refusals: string[] = [];
      for (const [method, path] of [['GET', '/admin/users'], ['POST', '/admin/users'], ['GET', '/admin/policy'], ['PATCH', '/admin/policy'], ['GET', '/admin/audit'], ['GET', '/admin/alerts'], ['GET', '/admin/devices'], ['POST', '/admin/teams'], ['POST', '/admin/roles'], ['GET', '/admin/roles']]) {
        const r = await gw.client.req(method!, path!, { token, ...(method === 'GET' ? {} : { body: {} }) });
        if (r.status !== 403) refusals.push(`${role} ${method} ${path} -> ${r.status}`);
      }
      expect(refusals).toEqual([]);
    }
  });
});
