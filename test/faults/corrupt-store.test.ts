/**
 * A damaged state database at start (issue 11, scope 4): `fractal start`
 * names the file and what to do on the terminal, in one line, with exit
 * status 1; no stack trace, no bare "rank 0 exited".
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Instance, describeResult, failedCleanly } from '../helpers.js';

const DAMAGED = /^fractal: the state database (\S+) is damaged \(SQLITE_NOTADB: file is not a database\): move it aside \(mv \S+ \S+\.damaged; also its -wal and -shm files\) to start with an empty state, or restore it from a backup, then start again$/m;

for (const mode of ['daemon', 'initial program'] as const) {
  void test(`a damaged state database is named on the terminal (${mode})`, async () => {
    const inst = new Instance();
    try {
      const db = join(inst.state, 'fractal.db');
      writeFileSync(db, 'not a database '.repeat(500));
      const args = mode === 'daemon' ? inst.startArgs() : ['start', '--state-dir', inst.state, '--', 'true'];
      const r = await inst.fractal(args, { env: inst.env({ withUri: false }), timeoutMs: 60000 });
      assert.equal(r.code, 1, describeResult(r));
      const bad = failedCleanly(r, DAMAGED);
      assert.equal(bad, undefined, bad);
      assert.equal(DAMAGED.exec(r.stderr)?.[1], db, 'the message names the file');
      assert.doesNotMatch(r.stderr, /rank 0 exited/);
    } finally {
      await inst.destroy();
    }
  });
}
