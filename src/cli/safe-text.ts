/**
 * Terminal-safe text. Job names, notes, reasons, account and reservation
 * names are chosen by users; printed raw, a name holding ESC sequences can
 * rewrite the screen or the terminal's title, a newline can forge a line of
 * `fractal jobs`, and bidirectional overrides can make text read backwards.
 * Every CLI output of user-supplied text goes through one of these:
 *
 * - `safeText`: one table cell or one line; control characters (C0, DEL,
 *   C1), line and paragraph separators and bidirectional controls become
 *   visible escapes (`\n`, `\t`, `\x1b`, `\u{202e}`).
 * - `safeLines`: the same, but newlines stay (error messages).
 * - `safeJson`: JSON that decodes to the exact value, with the characters
 *   JSON.stringify leaves raw (DEL, C1, separators, bidi) written as `\uXXXX`.
 *
 * Job output (`fractal run`, `attach`) is the job's own and passes unchanged.
 */

// C0 controls, DEL, C1 controls, U+2028/U+2029, bidi embeddings/overrides/isolates.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;
const UNSAFE_KEEP_NL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;
const JSON_UNSAFE = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;

const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escape(ch: string): string {
  const named = NAMED[ch];
  if (named) return named;
  const code = ch.codePointAt(0)!;
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
}

/** User-supplied text for one cell or one line of terminal output. */
export function safeText(s: string): string {
  return s.replace(UNSAFE, escape);
}

/** Like safeText, but newlines are kept: for messages that may span lines. */
export function safeLines(s: string): string {
  return s.replace(UNSAFE_KEEP_NL, escape);
}

/** JSON.stringify whose output is safe on a terminal and still decodes to the same value. */
export function safeJson(value: unknown, space?: number): string {
  // JSON.stringify(undefined) is undefined: print JSON's null instead.
  return (JSON.stringify(value, null, space) ?? 'null').replace(JSON_UNSAFE, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
