// Koe's shipped announcements, generated (not committed): espeak-ng speaks the ja and en texts,
// sox makes the hold music (a C-major arpeggio, no noise) and converts everything to what
// rtpengine plays and the upload check accepts: WAV, PCM 16-bit mono 8000 Hz. Deterministic (no
// dither, no random source) and cached: the output directory is named by a hash of the texts,
// the recipe and the tools' versions, so a stack start regenerates only when one of them changed.
//   npx tsx deploy/announcements/generate.ts [outDir]   prints the directory
// deploy/stack.ts calls ensureAnnouncements() and hands the directory to the gateway
// (sip.announcementsDir) and so to rtpengine (which reads the files it is told to play).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(here, '..', '..');
const RECIPE = 4;

/** Spoken in kana: espeak-ng's ja voice reads kana well and kanji poorly. */
export const TEXTS: Record<'ja' | 'en', Record<'greeting' | 'notice' | 'closed' | 'blocked' | 'overflow', string>> = {
  ja: {
    greeting: 'おでんわ ありがとう ございます。 ただいま でんわが こみあって おります。 このまま しばらく おまちください。',
    notice: 'この つうわは、 サービス こうじょうの ため、 ろくおん および モニタリング させて いただきます。',
    closed: 'ほんじつの うけつけは しゅうりょう いたしました。 うけつけ じかんないに、 あらためて おかけなおし ください。',
    blocked: 'もうしわけ ございませんが、 この でんわばんごうからの おでんわは、 おつなぎ できません。',
    overflow: 'ただいま たいへん こみあって おります。 おそれいりますが、 しばらく たってから、 おかけなおし ください。',
  },
  en: {
    greeting: 'Thank you for calling. All our operators are busy at the moment. Please hold the line.',
    notice: 'This call may be recorded and monitored for quality and training purposes.',
    closed: 'We are closed now. Please call again during our business hours.',
    blocked: 'We are sorry, but we cannot take calls from this number.',
    overflow: 'All our lines are very busy. Please call again later.',
  },
};
/** The hold music's notes (Hz): the tests listen for them. */
export const MUSIC_NOTES = [523.25, 659.25, 783.99, 659.25];
const NOTE_S = 0.5;
const BARS = 4;
const OUT_FORMAT = ['-r', '8000', '-c', '1', '-b', '16', '-e', 'signed-integer'];

function version(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8' }).split('\n')[0]!.trim();
}

/** Makes (or finds) the announcements; returns the directory (<dir>/<ja|en>/<name>.wav). */
export function ensureAnnouncements(root = path.join(REPO, '.tmp', 'announcements')): string {
  const key = createHash('sha256')
    .update(JSON.stringify({ RECIPE, TEXTS, MUSIC_NOTES, NOTE_S, BARS, espeak: version('espeak-ng', ['--version']), sox: version('sox', ['--version']) }))
    .digest('hex')
    .slice(0, 16);
  const dir = path.join(root, key);
  if (existsSync(path.join(dir, 'done'))) return dir;
  const work = `${dir}.${process.pid}.tmp`;
  rmSync(work, { recursive: true, force: true });
  for (const lang of ['ja', 'en'] as const) {
    mkdirSync(path.join(work, lang), { recursive: true });
    for (const [name, text] of Object.entries(TEXTS[lang])) {
      const raw = path.join(work, `${lang}-${name}.raw.wav`);
      execFileSync('espeak-ng', ['-v', lang, '-s', '165', '-w', raw, text]);
      // -D: no dither (deterministic); 0.2 s of silence first so the start is never clipped
      execFileSync('sox', ['-D', raw, ...OUT_FORMAT, path.join(work, lang, `${name}.wav`), 'norm', '-3', 'pad', '0.2', '0.3']);
      rmSync(raw);
    }
  }
  const notes: string[] = [];
  MUSIC_NOTES.forEach((hz, i) => {
    const f = path.join(work, `note${i}.wav`);
    execFileSync('sox', ['-D', '-n', ...OUT_FORMAT, f, 'synth', String(NOTE_S), 'sine', String(hz), 'fade', 'q', '0.02', String(NOTE_S), '0.08', 'vol', '0.35']);
    notes.push(f);
  });
  const bars = Array.from({ length: BARS }, () => notes).flat();
  for (const lang of ['ja', 'en'] as const) execFileSync('sox', ['-D', ...bars, ...OUT_FORMAT, path.join(work, lang, 'music.wav')]);
  for (const f of notes) rmSync(f);
  execFileSync('touch', [path.join(work, 'done')]);
  // another process finished the same directory meanwhile: keep theirs (a reader may hold its path)
  if (existsSync(path.join(dir, 'done'))) {
    rmSync(work, { recursive: true, force: true });
    return dir;
  }
  // a half-made one (a process killed mid-rename) goes
  rmSync(dir, { recursive: true, force: true });
  try {
    renameSync(work, dir);
  } catch (e) {
    // another process made the same directory first: theirs is the same bytes
    if (!existsSync(path.join(dir, 'done'))) throw e;
    rmSync(work, { recursive: true, force: true });
  }
  return dir;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.stdout.write(`${ensureAnnouncements(process.argv[2] ? path.resolve(process.argv[2]) : undefined)}\n`);
}
