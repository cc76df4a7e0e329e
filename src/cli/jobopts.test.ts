import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDependencies } from './jobopts.js';
import { explainUnknownOption, foreignOptionHint } from './hints.js';

void test('--dependency: one condition, id lists with "," and ":", several conditions, repeated flags', () => {
  assert.deepEqual(parseDependencies(['afterok:42']), [{ scheme: 'afterok', value: '42' }]);
  assert.deepEqual(parseDependencies(['afterany:10,11']), [{ scheme: 'afterany', value: '10' }, { scheme: 'afterany', value: '11' }]);
  assert.deepEqual(parseDependencies(['afterany:10:11']), [{ scheme: 'afterany', value: '10' }, { scheme: 'afterany', value: '11' }]);
  assert.deepEqual(parseDependencies(['afterok:10,afternotok:11,12']), [
    { scheme: 'afterok', value: '10' }, { scheme: 'afternotok', value: '11' }, { scheme: 'afternotok', value: '12' },
  ]);
  assert.deepEqual(parseDependencies(['after:1', 'afterany:2']), [{ scheme: 'after', value: '1' }, { scheme: 'afterany', value: '2' }]);
  assert.deepEqual(parseDependencies(['afterany:7,7']), [{ scheme: 'afterany', value: '7' }], 'duplicates once');
});

void test('--dependency: bad forms are refused with what to type', () => {
  for (const bad of ['10', '10,afterok:2', 'afterok', 'afterok:', 'afterok:x', 'afterok:1:', 'before:3', 'singleton', 'afterok:1?afterany:2']) {
    assert.throws(() => parseDependencies([bad]), (e: { code?: string; message?: string }) => e.code === 'EINVAL' && /--dependency/.test(e.message ?? ''), bad);
  }
});

void test('unknown Slurm/Flux options name the Fractal spelling', () => {
  assert.match(foreignOptionHint('--array=1-10') ?? '', /--cc/);
  assert.match(foreignOptionHint('--hold') ?? '', /--urgency=0/);
  assert.match(foreignOptionHint('--partition') ?? '', /--queue/);
  assert.match(foreignOptionHint('--time') ?? '', /-t\/--time-limit/);
  assert.equal(foreignOptionHint('--toString'), undefined, 'no prototype keys');
  const msg = explainUnknownOption("error: unknown option '--array=1-3'\n");
  assert.match(msg, /unknown option '--array=1-3'\nFractal's spelling of --array: --cc=IDSET/);
  // Commander's own guess stays when there is no known equivalent.
  assert.equal(explainUnknownOption("error: unknown option '--ntaks'\n(Did you mean --ntasks?)\n"), "error: unknown option '--ntaks'\n(Did you mean --ntasks?)\n");
  assert.equal(explainUnknownOption('error: missing required argument'), 'error: missing required argument');
});
