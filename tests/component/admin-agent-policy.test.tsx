// The admin console's agent states policy (issue 18 item 5): the org's not-ready reasons, one a
// line as "code | 日本語 | English", checked as the admin types with the gateway's own schema
// (a line the schema refuses is named by its number), the wrap-up extension fields, and a save
// that sends only what changed. The gateway is a fake `call`.
import { cleanup, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it } from 'vitest';
import { mountPolicySection } from './policy-harness';
import { en } from '../../renderer/src/i18n/en';

afterEach(() => cleanup());

const setup = mountPolicySection;

describe('org policy: agent states', () => {
  it('shows the reasons one a line (code | ja | en), names a bad line, and saves the edited list with the extension fields', async () => {
    const { patches, stored } = setup('ja');
    const reasons = (await screen.findByLabelText('受付不可の理由（1 行に 1 つ、最大 20）')) as HTMLTextAreaElement;
    expect(reasons.value.split('\n')).toEqual([
      'lunch | 昼休憩 | Lunch', 'meeting | ミーティング | Meeting', 'training | 研修 | Training', 'follow_up | 後処理の続き | Follow-up work',
      'callback | 折り返し対応 | Callback', 'other | その他 | Other',
    ]);
    expect(reasons.getAttribute('aria-describedby')).toContain('hint');
    const user = userEvent.setup();
    await user.clear(reasons);
    await user.click(reasons);
    await user.paste('lunch | 昼休憩 | Lunch\ncoaching コーチング');
    expect(screen.getByTestId('policy-field-agents-notReadyReasons-issue').textContent).toBe('2 行目: この値は使えません。');
    expect(screen.getByTestId('policy-save')).toHaveProperty('disabled', true);
    await user.clear(reasons);
    await user.click(reasons);
    await user.paste('lunch | 昼休憩 | Lunch\nlunch | 昼 | Lunch');
    expect(screen.getByTestId('policy-field-agents-notReadyReasons-issue').textContent).toBe('2 行目: この値は使えません。');
    await user.clear(reasons);
    await user.click(reasons);
    await user.paste('lunch | 昼休憩 | Lunch\ncoaching | コーチング | Coaching');
    expect(screen.queryByTestId('policy-field-agents-notReadyReasons-issue')).toBeNull();
    const extend = screen.getByLabelText('後処理の延長 1 回あたりの時間（秒、0 で延長不可）');
    await user.clear(extend);
    await user.type(extend, '30');
    await user.click(screen.getByTestId('policy-save'));
    await waitFor(() => expect(stored().agents.wrapUpExtendSeconds).toBe(30));
    expect(patches).toEqual([
      { agents: { wrapUpExtendSeconds: 30, notReadyReasons: [{ code: 'lunch', ja: '昼休憩', en: 'Lunch' }, { code: 'coaching', ja: 'コーチング', en: 'Coaching' }] } },
    ]);
    expect(stored().agents.notReadyReasons.map((r) => r.code)).toEqual(['lunch', 'coaching']);
    expect(stored().agents.wrapUpMaxExtensions).toBe(1);
  });

  it('in English: the labels, the format hint and a list that is too long', async () => {
    setup('en');
    const reasons = (await screen.findByLabelText(en.admin.policy.fields.agents.notReadyReasons)) as HTMLTextAreaElement;
    expect(screen.getByText(en.admin.policy.fields.agents.notReadyReasonsHint)).toBeTruthy();
    expect(screen.getByLabelText(en.admin.policy.fields.agents.wrapUpMaxExtensions)).toBeTruthy();
    const user = userEvent.setup();
    await user.clear(reasons);
    await user.click(reasons);
    await user.paste(Array.from({ length: 21 }, (_, i) => `r${i} | 理由${i} | Reason ${i}`).join('\n'));
    expect(screen.getByTestId('policy-field-agents-notReadyReasons-issue').textContent).toBe('At most 20 entries.');
  });
});
