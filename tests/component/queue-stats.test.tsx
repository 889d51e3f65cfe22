// Issue 15 item 6 on the lead's board (renderer/src/features/supervision/QueueStatsPanel.tsx):
// the figures the gateway pushes (boardStats) as the lead reads them, in Japanese and English
// number, percent and duration formats.
import { render, screen, within } from '@testing-library/react';
import { I18nextProvider } from 'react-i18next';
import { describe, expect, it } from 'vitest';
import { createI18n } from '../../renderer/src/i18n';
import { QueueStatsPanel } from '../../renderer/src/features/supervision/QueueStatsPanel';
import type { QueueStats } from '../../shared/gateway/queue-stats';

const at = Date.parse('2026-04-01T09:10:00Z');
const stats: QueueStats = {
  at,
  campaigns: [
    {
      campaignId: 'c1', name: '窓口', waiting: 3, oldestWaitingSince: at - 65_000, offered: 1234, answered: 1100, abandoned: 34,
      serviceLevel: 0.8512, targetSeconds: 20, averageHandleSeconds: 185.4,
    },
    { campaignId: 'c2', name: '静かな窓口', waiting: 0, oldestWaitingSince: null, offered: 0, answered: 0, abandoned: 0, serviceLevel: null, targetSeconds: 30, averageHandleSeconds: null },
  ],
  operators: [{ userId: 'u1', calls: 12, missed: 1, handleSeconds: 3725, stateSeconds: { ready: 600, on_call: 3000, wrap_up: 45 } }],
};

function show(language: 'ja' | 'en') {
  const view = render(
    <I18nextProvider i18n={createI18n(language)}>
      <QueueStatsPanel stats={stats} names={new Map([['u1', '山田 花子']])} />
    </I18nextProvider>,
  );
  const [busy, quiet] = screen.getAllByTestId('queue-row');
  const op = screen.getByTestId('op-stats-row');
  const cell = (row: HTMLElement, id: string) => within(row).getByTestId(id).textContent;
  return { view, busy: busy!, quiet: quiet!, op, cell };
}

describe('the queues on the lead\'s board', () => {
  it('in Japanese: 1,234 / 85% / 1分05秒 / 1時間2分5秒', () => {
    const { busy, quiet, op, cell } = show('ja');
    expect(cell(busy, 'q-waiting')).toBe('3');
    expect(cell(busy, 'q-longest')).toMatch(/^1分(5|6|7)秒$/); // 65 s ago at push time, counting up with the clock
    expect(cell(busy, 'q-offered')).toBe('1,234');
    expect(cell(busy, 'q-answered')).toBe('1,100');
    expect(cell(busy, 'q-abandoned')).toBe('34');
    expect(cell(busy, 'q-sl')).toBe('85%');
    expect(within(busy).getByTestId('q-sl').getAttribute('title')).toBe('20秒以内');
    expect(cell(busy, 'q-aht')).toBe('3分5秒');
    expect(cell(quiet, 'q-longest')).toBe('なし');
    expect(cell(quiet, 'q-sl')).toBe('なし');
    expect(cell(op, 'o-calls')).toBe('12');
    expect(cell(op, 'o-missed')).toBe('1');
    expect(cell(op, 'o-handle')).toBe('1時間2分5秒');
    expect(cell(op, 'o-states')).toBe('受付可 10分0秒 · 通話中 50分0秒 · 後処理中 45秒');
    expect(within(op).getByText('山田 花子')).toBeTruthy();
  });

  it('in English', () => {
    const { busy, op, cell } = show('en');
    expect(cell(busy, 'q-offered')).toBe('1,234');
    expect(cell(busy, 'q-sl')).toBe('85%');
    expect(cell(busy, 'q-aht')).toBe('3 min 5 s');
    expect(cell(op, 'o-handle')).toBe('1 h 2 min 5 s');
    expect(screen.getByText('Service level')).toBeTruthy();
  });
});
