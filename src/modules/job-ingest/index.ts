/**
 * job-ingest (rank 0): the front door for new jobs. Validates the jobspec
 * (Flux RFC 14/25), reduces it to a resource request, asks the scheduler
 * whether the request could ever be satisfied here, runs the validator
 * plugins, then hands the job to the job manager. Every rejection names the
 * field and the problem.
 */
import { FractalError, ErrorCodes, invalid } from '../../errors/index.js';
import { formatDuration, summarizeJobspec, validateJobspec, type Jobspec } from '../../jobspec/index.js';
import type { SubmitRequest } from '../../protocol/index.js';
import type { BrokerModule, ModuleContext, Req } from '../../service/index.js';

export class JobIngest implements BrokerModule {
  readonly name = 'job-ingest';
  readonly ranks = 'leader' as const;
  private ctx!: ModuleContext;

  /** When this instance ends (epoch seconds): a nested instance's parent job's time limit (`-o instance.expiration`). */
  private expiration: number | undefined;

  start(ctx: ModuleContext): void {
    this.ctx = ctx;
    const exp = Number(ctx.broker.attrs['instance.expiration']);
    if (ctx.broker.attrs['instance.expiration'] !== undefined && Number.isFinite(exp) && exp > 0) this.expiration = exp;
    ctx.register([{ topic: 'job-ingest.submit', handler: (r) => this.submit(r) }]);
  }

  private async submit(req: Req): Promise<unknown> {
    const p = req.payload as SubmitRequest;
    if (typeof p !== 'object' || p === null) throw invalid('submit needs {jobspec, urgency?, flags?}');
    const urgency = p.urgency ?? 16;
    if (!Number.isInteger(urgency) || urgency < 0 || urgency > 31) throw invalid(`urgency must be an integer 0-31 (got ${JSON.stringify(p.urgency)})`);
    if ((req.cred.rolemask & 1) === 0 && urgency > 16) throw new FractalError(ErrorCodes.PERMISSION, 'only the instance owner may submit with urgency above 16');
    const count = (p as { count?: unknown }).count;
    if (count !== undefined && (!Number.isInteger(count) || (count as number) < 1 || (count as number) > 100000)) throw invalid('count must be an integer 1-100000 (copies of the job to submit)');
    const flags = p.flags ?? 0;
    if (!Number.isInteger(flags) || flags < 0) throw invalid('flags must be a non-negative integer');
    let spec: Jobspec;
    try {
      spec = validateJobspec(p.jobspec, { version: 'v1' });
    } catch (e) {
      throw new FractalError(ErrorCodes.INVALID_ARGUMENT, `invalid jobspec: ${(e as Error).message}`);
    }
    const request = summarizeJobspec(spec);
    let system = (spec.attributes?.system ?? {}) as Record<string, unknown>;
    if (this.expiration !== undefined) {
      // A nested instance ends with its parent job's time limit: a job that cannot finish before then is refused,
      // and a job without a limit gets the time that is left (docs/hierarchy.md).
      const left = Math.floor(this.expiration - Date.now() / 1000);
      const ends = new Date(this.expiration * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
      if (left <= 0) throw new FractalError(ErrorCodes.INVALID_ARGUMENT, `this instance has reached its time limit (${ends}) and takes no new jobs`);
      if (request.duration > left) {
        throw invalid(`the job's time limit (${formatDuration(request.duration)}) goes past the end of this instance in ${formatDuration(left)} (${ends}, the time limit of its job in the parent instance): ask for at most ${formatDuration(left)} with -t`);
      }
      if (request.duration === 0) {
        request.duration = left;
        system = { ...system, duration: left };
        (spec.attributes ??= {}).system = system;
      }
    }
    // The account the job is charged to: the one asked for (if the user may), else the user's default.
    const asked = system['account'];
    if (asked !== undefined && typeof asked !== 'string') throw invalid('attributes.system.account must be an account name');
    const qos = system['qos'];
    if (qos !== undefined && typeof qos !== 'string') throw invalid('attributes.system.qos must be a QOS name');
    const { account } = await this.ctx.rpc<{ account: string }>('accounting.check', {
      userid: req.cred.userid, ...(asked !== undefined ? { account: asked } : {}), ...(qos !== undefined ? { qos } : {}),
    });
    system = { ...system, account };
    (spec.attributes ??= {}).system = system;
    await this.ctx.rpc('sched.feasibility', { request, jobspec: spec, userid: req.cred.userid, account, owner: (req.cred.rolemask & 1) !== 0 });
    const cmd = spec.tasks[0]?.command;
    const name = (system['job'] as { name?: unknown } | undefined)?.name;
    const jobName = typeof name === 'string' && name ? name : Array.isArray(cmd) && cmd[0] ? String(cmd[0]).split('/').pop()! : 'job';
    return this.ctx.rpc('job-manager.submit', { jobspec: spec, request, name: jobName, urgency, flags, userid: req.cred.userid, ...(count !== undefined ? { count } : {}) });
  }
}
