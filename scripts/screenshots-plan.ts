// `npm run screenshots`'s pure parts (scripts/screenshots.ts runs them against the real app):
// which screens, in which languages, where each PNG goes, the index that says what each is,
// whether the build is stale, and the refusal when no Japanese font is installed.
import { PACKAGES } from './first-run';

export const LANGUAGES = ['ja', 'en'] as const;
export type Language = (typeof LANGUAGES)[number];

/** The browser window the screenshots are taken in: the laptop the workstation is laid out for. */
export const VIEWPORT = { width: 1366, height: 768 } as const;

export interface Screen {
  /** The file's name without `.png`; the number keeps them in the order of an operator's day. */
  name: string;
  /** Who is signed in on it. */
  who: 'nobody' | 'operator' | 'team lead' | 'admin';
  /** What it shows (the index's line). */
  what: string;
}

export const SCREENS: readonly Screen[] = [
  { name: '01-sign-in', who: 'nobody', what: 'The sign-in screen (the version and gateway are folded under "About this app").' },
  { name: '02-operator-ready', who: 'operator', what: 'The operator signed in and ready (受付可), waiting for a call: call bar, customer and notes regions empty.' },
  { name: '03-ringing', who: 'operator', what: "A customer's call ringing, with the customer's card (campaign, past call, open note) popped with the ring." },
  { name: '04-on-call', who: 'operator', what: 'On the call: the call and its controls in the call bar, the customer card, a note being taken.' },
  { name: '05-wrap-up', who: 'operator', what: 'After the customer hung up: wrap-up with the campaign\'s dispositions and the countdown.' },
  { name: '06-lead-board', who: 'team lead', what: "The team lead's board with the operator on a call (customer, time) and the team's other operators." },
  { name: '07-lead-monitoring', who: 'team lead', what: 'The team lead monitoring that call: the supervision panel (monitor, whisper, join).' },
  { name: '08-admin-users', who: 'admin', what: "The admin console's users section (the other sections are tabs on its left)." },
];

/** docs/screenshots/<lang>/<name>.png, relative to the repository. */
export function screenshotPath(language: Language, screen: Pick<Screen, 'name'>): string {
  return `docs/screenshots/${language}/${screen.name}.png`;
}

/** Every file one run writes, ja first. */
export function screenshotFiles(screens: readonly Screen[] = SCREENS): string[] {
  return LANGUAGES.flatMap((l) => screens.map((s) => screenshotPath(l, s)));
}

/** docs/screenshots/README.md: what each screenshot shows, with both languages' files. */
export function screenshotsIndex(screens: readonly Screen[] = SCREENS): string {
  return [
    '# Screenshots',
    '',
    'Taken by `npm run screenshots` (scripts/screenshots.ts) from the real app: the built renderer in',
    'the dev host and Debian Chromium at 1366x768, against a throwaway local stack (gateway, Kamailio,',
    'rtpengine) with the demo data, and baresip as the calling customer. Every name, number and note',
    'in them is fictional demo data. Each run overwrites them; do not edit them by hand.',
    '',
    '| Screen | Signed in | 日本語 | English |',
    '| --- | --- | --- | --- |',
    ...screens.map((s) => `| ${s.what.replace(/\|/g, '\\|')} | ${s.who} | [${s.name}](ja/${s.name}.png) | [${s.name}](en/${s.name}.png) |`),
    '',
  ].join('\n');
}

/**
 * Why the run must not start for want of a Japanese font, or null when there is one.
 * `fcList`: the output of `fc-list :lang=ja family`, null when fc-list is not installed.
 */
export function fontRefusal(fcList: string | null): string | null {
  if (fcList !== null && fcList.trim() !== '') return null;
  return [
    `screenshots: no Japanese font found${fcList === null ? ' (fc-list is not installed: apt-get install fontconfig)' : ' (fc-list :lang=ja lists none)'}; the Japanese screenshots would show boxes instead of text, so none are taken.`,
    `  Install one: sudo apt-get install ${PACKAGES.cjkFont}`,
  ].join('\n');
}

/** The build is needed when out/ lacks the renderer or the dev host bridge, or is older than a source file. */
export function needsBuild(builtAtMs: number | null, newestSourceMs: number): boolean {
  return builtAtMs === null || newestSourceMs > builtAtMs;
}
