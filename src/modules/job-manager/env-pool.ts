/**
 * The environments of jobs that have not started yet, held once per distinct
 * content: most of a user's submissions carry the same environment, and a
 * `submit --cc` batch always does. A job's start takes its environment from
 * here instead of reading and parsing its stored jobspec. Jobs not found here
 * (after a restart, or a requeued job starting again) read it from the store.
 */
interface Entry {
  env: unknown;
  refs: number;
}

export class EnvPool {
  private readonly byText = new Map<string, Entry>();
  private readonly byJob = new Map<number, { text: string; entry: Entry }>();

  /** Holds `env` for jobs `ids` until each starts (`take`) or ends without starting (`drop`). */
  hold(ids: readonly number[], env: unknown): void {
    if (env === undefined) return;
    const text = JSON.stringify(env);
    let entry = this.byText.get(text);
    if (!entry) this.byText.set(text, entry = { env, refs: 0 });
    for (const id of ids) {
      if (this.byJob.has(id)) continue;
      this.byJob.set(id, { text, entry });
      entry.refs++;
    }
  }

  /** The environment held for job `id`, which is let go; undefined if none is held. */
  take(id: number): unknown {
    const h = this.byJob.get(id);
    if (!h) return undefined;
    this.drop(id);
    return h.entry.env;
  }

  drop(id: number): void {
    const h = this.byJob.get(id);
    if (!h) return;
    this.byJob.delete(id);
    if (--h.entry.refs === 0) this.byText.delete(h.text);
  }

  /** Distinct environments and jobs holding one (for tests and stats). */
  get size(): { envs: number; jobs: number } {
    return { envs: this.byText.size, jobs: this.byJob.size };
  }
}
