import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Store, type JobRecord } from './store.js';

const rec = (id: number, jobspec: string, state = 'SCHED'): JobRecord => ({
  id, userid: 0, name: 'x', state, urgency: 16, priority: 16, t_submit: 1, t_run: null, t_inactive: null, nnodes: 0, ntasks: 1, ncores: 1,
  result: null, returncode: null, exception: null, nodelist: null, jobspec, R: null, waitstatus: null, duration: 0,
});

void test('the submitted jobspec is kept apart from the job row, and read back whole after state updates', () => {
  const dir = mkdtempSync(join(tmpdir(), 'frs-'));
  try {
    const s = new Store(join(dir, 'f.db'));
    const text = JSON.stringify({ jobspec: { attributes: { system: { environment: { BIG: 'x'.repeat(4000) } } } } });
    s.putJob(rec(1, text));
    s.commit();
    s.finishJob(rec(1, '', 'INACTIVE'));
    s.commit();
    const got = s.getJob(1);
    assert.equal(got?.state, 'INACTIVE');
    assert.equal(got?.jobspec, text);
    assert.equal(s.listJobs({ states: ['INACTIVE'] }).length, 1);
    s.close();
    // The job row itself stays small: state updates rewrite ~100 bytes, not the environment.
    const db = new Database(join(dir, 'f.db'));
    const row = db.prepare('SELECT length(jobspec) AS n FROM jobs WHERE id = 1').get() as { n: number };
    assert.equal(row.n, 0);
    db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('a database written before the jobspecs table still reads its jobspecs from the job rows', () => {
  const dir = mkdtempSync(join(tmpdir(), 'frs-'));
  try {
    const path = join(dir, 'f.db');
    const old = new Database(path);
    old.exec(`CREATE TABLE jobs (
      id INTEGER PRIMARY KEY, userid INTEGER NOT NULL, name TEXT NOT NULL, state TEXT NOT NULL,
      urgency INTEGER NOT NULL, priority INTEGER NOT NULL, t_submit REAL NOT NULL,
      t_run REAL, t_inactive REAL, nnodes INTEGER NOT NULL, ntasks INTEGER NOT NULL, ncores INTEGER NOT NULL,
      result TEXT, returncode INTEGER, exception TEXT, nodelist TEXT, jobspec TEXT NOT NULL, R TEXT, waitstatus INTEGER,
      duration REAL NOT NULL DEFAULT 0)`);
    old.prepare("INSERT INTO jobs VALUES (7, 0, 'x', 'SCHED', 16, 16, 1, NULL, NULL, 0, 1, 1, NULL, NULL, NULL, NULL, '{\"old\":true}', NULL, NULL, 0)").run();
    old.close();
    const s = new Store(path);
    assert.equal(s.getJob(7)?.jobspec, '{"old":true}');
    s.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
