// Search keys for customer names in kanji and kana. Both the stored key and the search
// term go through the same function, so "すずき", "スズキ", "ｽｽﾞｷ" and "スズキ　" all find
// 鈴木 一郎 (スズキ イチロウ) by prefix.

/** NFKC, no whitespace, hiragana folded to katakana, Latin lower-cased. */
export function nameKey(input: string): string {
  return input
    .normalize('NFKC')
    .replace(/[\s\u3000]+/g, '')
    .replace(/[\u3041-\u3096\u309d\u309e]/g, (ch) => String.fromCharCode(ch.charCodeAt(0) + 0x60))
    .toLowerCase();
}
