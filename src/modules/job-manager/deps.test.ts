import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromDescription, parseDependencies } from './deps.js';

void test('restart reads back exactly the descriptions that submit wrote', () => {
  const deps = parseDependencies({ dependencies: [{ scheme: 'afterany', value: '10' }, { scheme: 'afterok', value: 11 }, { scheme: 'begin-time', value: 1767225600.5 }] });
  for (const d of deps) assert.deepEqual(fromDescription(d.description), d);
  for (const bad of ['afterok', 'afterok=', '=3', 'nope=3', 'afterok=x', 'afterok=-1']) assert.equal(fromDescription(bad), undefined, bad);
});
