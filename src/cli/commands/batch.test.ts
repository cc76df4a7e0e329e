import { test } from 'node:test';
import assert from 'node:assert/strict';
import { directives } from './batch.js';

void test('directives: #FRACTAL: lines of the first comment block, split as a shell would', () => {
  const script = [
    '#!/bin/bash',
    '# a comment',
    '#FRACTAL: -N 2 -t 10m',
    '',
    '# FRACTAL: --job-name "two words" --env \'A=x y\'',
    '#FRACTAL: --setopt=cpu-affinity=off',
    'echo hi',
    '#FRACTAL: -n 99',
  ].join('\n');
  assert.deepEqual(directives(script), ['-N', '2', '-t', '10m', '--job-name', 'two words', '--env', 'A=x y', '--setopt=cpu-affinity=off']);
});

void test('directives: none before the first command; adjacent quotes join; escapes in double quotes', () => {
  assert.deepEqual(directives('#!/bin/sh\ntrue\n#FRACTAL: -N1\n'), []);
  assert.deepEqual(directives('#!/bin/sh\n#FRACTAL: --job-name a"b c"\'d\'\n'), ['--job-name', 'ab cd']);
  assert.deepEqual(directives('#!/bin/sh\n#FRACTAL: --job-name "say \\"hi\\""\n'), ['--job-name', 'say "hi"']);
});

void test('directives: an unbalanced quote names the line', () => {
  assert.throws(() => directives('#!/bin/sh\n\n#FRACTAL: --job-name "oops\n'), /line 3: unbalanced quote/);
});
