import { test } from 'node:test';
import assert from 'node:assert/strict';
import { throwsInvalid } from '../testing/index.js';
import fc from 'fast-check';
import { Hostlist } from './index.js';


const expand = (s: string): string => Hostlist.parse(s).toArray().join(',');

// ---- RFC 29 test vectors ----------------------------------------------------

void test('RFC 29 test vectors', () => {
  const vectors: [string, string][] = [
    ['', ''],
    ['foox,fooy,fooz', 'foox,fooy,fooz'],
    ['[1-3,5-6]', '1,2,3,5,6'],
    ['foo[1-5]', 'foo1,foo2,foo3,foo4,foo5'],
    ['foo[0-4]-eth2', 'foo0-eth2,foo1-eth2,foo2-eth2,foo3-eth2,foo4-eth2'],
    ['foo1,foo1,foo1', 'foo1,foo1,foo1'],
    ['[00-02]', '00,01,02'],
    ['[00-2]', '00,01,02'],
    ['foo[1,1,2,1]', 'foo1,foo1,foo2,foo1'],
  ];
  for (const [input, want] of vectors) assert.equal(expand(input), want, input);
});

void test('RFC 29 idlist examples: order, repeats and padding of the first id', () => {
  assert.equal(expand('h[5,4,10,11,12,13]'), 'h5,h4,h10,h11,h12,h13');
  assert.equal(expand('h[5,4,11-13]'), 'h5,h4,h11,h12,h13');
  assert.equal(expand('h[005,4,11-13]'), 'h005,h004,h011,h012,h013');
  assert.equal(expand('n[01-10]'), 'n01,n02,n03,n04,n05,n06,n07,n08,n09,n10');
  assert.equal(expand('n[8-11]'), 'n8,n9,n10,n11');
  assert.equal(expand('n[098-101]'), 'n098,n099,n100,n101');
  assert.equal(expand('rack1-n[1-2]-eth'), 'rack1-n1-eth,rack1-n2-eth');
  assert.equal(expand('a,,b,'), 'a,b');
});

void test('encode compresses runs in order', () => {
  const enc = (hosts: string[]): string => Hostlist.fromArray(hosts).encode();
  assert.equal(enc(['n1', 'n2', 'n3', 'login', 'n5']), 'n[1-3],login,n5');
  assert.equal(enc(['node001', 'node002', 'node100', 'node200']), 'node[001-002,100,200]');
  assert.equal(enc(['n3', 'n2', 'n1']), 'n[3,2,1]');
  assert.equal(enc(['n1', 'n1', 'n1']), 'n[1,1,1]');
  assert.equal(enc(['n9', 'n10', 'n11']), 'n[9-11]');
  assert.equal(enc(['n09', 'n10', 'n1']), 'n[09-10],n1');
  assert.equal(enc(['foo0-eth2', 'foo1-eth2', 'foo2-eth2']), 'foo[0-2]-eth2');
  assert.equal(enc(['rack1-n1', 'rack1-n2', 'rack2-n1']), 'rack1-n[1-2],rack2-n1');
  assert.equal(enc(['rack1-n1', 'rack2-n1', 'rack3-n1']), 'rack[1-3]-n1');
  assert.equal(enc(['login', 'login']), 'login,login');
  assert.equal(enc([]), '');
  assert.equal(enc(['00', '01', '02']), '[00-02]');
  assert.equal(Hostlist.parse('foo[1-5]').toString(), 'foo[1-5]');
  assert.equal(Hostlist.parse('n1,n2,n3').encode(), 'n[1-3]');
  assert.equal(Hostlist.parse('n[1],n[2]').encode(), 'n[1-2]');
});

void test('queries: size, nth, indexOf, iterate, equals', () => {
  const h = Hostlist.parse('n[1-3],login,n1');
  assert.equal(h.size, 5);
  assert.equal(h.nth(0), 'n1');
  assert.equal(h.nth(3), 'login');
  assert.equal(h.indexOf('n1'), 0);
  assert.equal(h.indexOf('login'), 3);
  assert.equal(h.indexOf('n9'), -1);
  assert.deepEqual([...h], ['n1', 'n2', 'n3', 'login', 'n1']);
  assert.ok(h.equals(Hostlist.fromArray(['n1', 'n2', 'n3', 'login', 'n1'])));
  assert.ok(!h.equals(Hostlist.parse('n[1-3],login')));
  assert.ok(!h.equals(Hostlist.parse('n[1-3],n1,login')));
  throwsInvalid(() => h.nth(5), /hostlist index 5 is out of range: the list has 5 hosts, valid indexes are 0 to 4/);
  throwsInvalid(() => Hostlist.empty().nth(0), /out of range: the list is empty/);
  throwsInvalid(() => h.nth(-1), /out of range/);
  // toArray returns a copy.
  h.toArray().push('x');
  assert.equal(h.size, 5);
});

void test('bad hostlists are rejected with a message naming the problem', () => {
  throwsInvalid(() => Hostlist.parse('foo[1-3'), /^invalid hostlist "foo\[1-3": a "\[" is never closed; add the missing "\]"$/);
  throwsInvalid(() => Hostlist.parse('foo1-3]'), /"\]" at position 6 has no matching "\["/);
  throwsInvalid(() => Hostlist.parse('foo[1-[2]]'), /nested "\["/);
  throwsInvalid(() => Hostlist.parse('foo[3-1]'), /range end 1 is below start 3/);
  throwsInvalid(() => Hostlist.parse('foo[]'), /"foo\[\]" has an empty \[\]/);
  throwsInvalid(() => Hostlist.parse('foo[a-b]'), /"a-b" in "\[a-b\]" is not an id or a low-high range/);
  throwsInvalid(() => Hostlist.parse('foo[1,,2]'), /"" in "\[1,,2\]" is not an id/);
  throwsInvalid(() => Hostlist.parse('a[1]b[2]'), /"a\[1\]b\[2\]" has more than one \[idlist\]/);
  throwsInvalid(() => Hostlist.parse('foo bar'), /"foo bar" contains whitespace/);
  throwsInvalid(() => Hostlist.parse('f\u00e9e'), /U\+00E9, which is not printable ASCII/);
  throwsInvalid(() => Hostlist.parse('n[0-999999999]'), /expands to more than 1000000 hostnames; check the ranges/);
  throwsInvalid(() => Hostlist.fromArray(['ok', 'a,b']), /invalid hostname "a,b": it contains ","/);
  throwsInvalid(() => Hostlist.fromArray(['']), /a hostname must be a non-empty string/);
});

// ---- properties -------------------------------------------------------------

/** Hostnames shaped like real ones: prefix, optional padded number, suffix. */
const hostname = fc.oneof(
  fc
    .tuple(
      fc.constantFrom('n', 'node', 'rack1-n', 'gpu-', '', 'x'),
      fc.integer({ min: 0, max: 30 }),
      fc.constantFrom(0, 0, 2, 3),
      fc.constantFrom('', '', '-eth0', 'ib'),
    )
    .map(([p, n, w, s]) => `${p}${String(n).padStart(w, '0')}${s}`)
    .filter((h) => h !== ''),
  fc.constantFrom('login', 'login1', 'a1b2c3', 'r01n002', '007'),
  // Arbitrary legal characters, including digits in odd places.
  fc.string({ unit: fc.constantFrom(...'ab0129-._:'.split('')), minLength: 1, maxLength: 8 }),
);
/** Lists with runs: a start host followed by its numeric successors. */
const hostArray = fc.array(
  fc.oneof(
    hostname.map((h) => [h]),
    fc
      .tuple(fc.constantFrom('n', 'node', 'rack2-n'), fc.integer({ min: 0, max: 120 }), fc.integer({ min: 1, max: 15 }), fc.constantFrom(0, 3))
      .map(([p, lo, len, w]) => Array.from({ length: len }, (_, k) => `${p}${String(lo + k).padStart(w, '0')}`)),
  ),
  { maxLength: 12 },
).map((chunks) => chunks.flat());

void test('property: parse(encode(x)) round trips and encode is canonical', () => {
  fc.assert(
    fc.property(hostArray, (hosts) => {
      const h = Hostlist.fromArray(hosts);
      const text = h.encode();
      const back = Hostlist.parse(text);
      assert.deepEqual(back.toArray(), hosts, text);
      assert.ok(back.equals(h));
      assert.equal(back.encode(), text);
    }),
  );
});

void test('property: concatenating encodings concatenates lists', () => {
  fc.assert(
    fc.property(hostArray, hostArray, (a, b) => {
      const parts = [Hostlist.fromArray(a).encode(), Hostlist.fromArray(b).encode()];
      assert.deepEqual(Hostlist.parse(parts.join(',')).toArray(), [...a, ...b]);
    }),
  );
});

void test('property: nth and indexOf agree with the array', () => {
  fc.assert(
    fc.property(hostArray, (hosts) => {
      const h = Hostlist.parse(Hostlist.fromArray(hosts).encode());
      assert.equal(h.size, hosts.length);
      hosts.forEach((name, i) => {
        assert.equal(h.nth(i), name);
        assert.equal(h.indexOf(name), hosts.indexOf(name));
      });
    }),
  );
});
