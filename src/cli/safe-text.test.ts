import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { safeJson, safeLines, safeText } from './safe-text.js';
import { parseFormat, render } from './commands/jobs.js';

// Characters a terminal acts on: C0, DEL, C1, line/paragraph separators, bidi controls.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

void test('safeText makes escapes, newlines, tabs and bidi overrides visible', () => {
  assert.equal(safeText('evil\u001b[31mred\nline'), 'evil\\x1b[31mred\\nline');
  assert.equal(safeText('a\tb\rc\u0000d\u007f'), 'a\\tb\\rc\\x00d\\x7f');
  assert.equal(safeText('\u009b2J'), '\\x9b2J'); // C1 CSI
  assert.equal(safeText('abc\u202edcba'), 'abc\\u{202e}dcba');
  assert.equal(safeText('\u001b]0;title\u0007'), '\\x1b]0;title\\x07');
});

void test('ordinary text, including non-ASCII letters and emoji, is unchanged', () => {
  for (const s of ['sim-42', 'Grüße', '日本語', 'a b', 'x\\ny', '🚀 launch', '']) assert.equal(safeText(s), s);
});

void test('safeLines keeps newlines only', () => {
  assert.equal(safeLines('line 1\nline 2: \u001b[2J\r\t'), 'line 1\nline 2: \\x1b[2J\\r\\t');
});

void test('property: safeText output has no terminal control character; safeLines none but newline', () => {
  fc.assert(fc.property(fc.string({ unit: 'binary' }), (s) => {
    assert.ok(!UNSAFE.test(safeText(s)));
    assert.ok(!UNSAFE.test(safeLines(s).replaceAll('\n', '')));
  }), { numRuns: 1000 });
});

void test('property: safeJson decodes to the same value and has no terminal control character', () => {
  fc.assert(fc.property(fc.jsonValue(), fc.string({ unit: 'binary' }), (v, name) => {
    const value = { v, name };
    const text = safeJson(value, 2);
    assert.ok(!UNSAFE.test(text.replaceAll('\n', '')), text);
    assert.deepEqual(JSON.parse(text), JSON.parse(JSON.stringify(value)));
  }), { numRuns: 500 });
  assert.equal(safeJson(undefined), 'null');
});

void test('a jobs table row with an escaped name keeps its columns', () => {
  const parts = parseFormat('{id:>4} {name:<10.10} {status:>2}');
  const row = render(parts, (n) => safeText(({ id: '7', name: 'a\nb\u001b[2Jcdefghij', status: 'R' } as Record<string, string>)[n]!));
  assert.equal(row, '   7 a\\nb\\x1b[2 ' + ' R');
  assert.ok(!row.includes('\n'));
});
