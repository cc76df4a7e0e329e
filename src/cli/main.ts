/**
 * The `fractal` command line. Commands and their flags are declared here as
 * data; each command's work lives in commands/<name>.ts, loaded only when
 * that command runs so that start-up stays short.
 */
import { Command } from 'commander';
import { FractalError } from '../errors/index.js';
import { safeLines } from './safe-text.js';
import { explainUnknownOption } from './hints.js';
import { collect, instanceShape, jobShape } from './shape.js';

type Loader = () => Promise<{ default: (args: string[], opts: Record<string, unknown>, cmd: Command) => Promise<number | void> }>;

function action(load: Loader) {
  return async (...a: unknown[]) => {
    const cmd = a[a.length - 1] as Command;
    const opts = cmd.opts();
    const code = await (await load()).default(cmd.args, opts, cmd);
    process.exitCode = typeof code === 'number' ? code : 0;
  };
}

const program = new Command('fractal')
  .description('Fractal: a hierarchical workload manager for clusters, clouds and laptops')
  .option('--uri <URI>', 'the instance to talk to (default: $FRACTAL_URI, else the last daemon started)')
  .option('-r, --remote <JOBPATH>', 'talk to the nested instance run by this job (12, or 12/5 through levels)')
  .version('0.1.0', '-V, --version')
  .showHelpAfterError('(run with --help for usage)')
  // Unknown options from Slurm or Flux (--array, --hold, --partition...) name the Fractal spelling.
  .configureOutput({ outputError: (str, write) => write(explainUnknownOption(str)) })
  .enablePositionalOptions();

program.command('start')
  .description('start an instance; with COMMAND, run it inside and stop when it exits')
  .option('-s, --test-size <N>', 'number of brokers (simulated nodes) on this machine', '1')
  .option('--daemon', 'run in the background; print the URI and return')
  .option('--state-dir <DIR>', 'keep the instance state here (jobs survive restarts)')
  .option('--cores-per-rank <N>', 'cores each broker offers (default: all cores of this machine)')
  .option('--gpus-per-rank <N>', 'GPUs each broker offers (default: discovered)')
  .option('--fanout <K>', 'tree overlay fan-out', '2')
  .option('--config <FILE>', 'this host\'s broker of an instance across hosts, from a TOML [bootstrap] file (docs/multihost.md)')
  .option('-o, --setattr <KEY=VAL>', 'instance attribute', collect, [])
  .argument('[command...]', 'initial program')
  .passThroughOptions()
  .action(action(() => import('./commands/start.js')));

program.command('keygen').description('write a private CA and the brokers\' key pair for a TLS overlay into DIR (-o tls-dir=DIR)')
  .option('--force', 'replace keys already in DIR (brokers running with the old ones can no longer join)')
  .argument('<dir>', 'directory for ca.crt, ca.key, broker.crt, broker.key (created 0700)')
  .action(action(() => import('./commands/keygen.js')));

program.command('shutdown').description('stop the instance (pending jobs stay in its state directory)')
  .action(action(() => import('./commands/shutdown.js')));

program.command('uri').description("print an instance's URI: the current one's, a state directory's, or a nested instance's (JOBPATH)")
  .option('--state-dir <DIR>', 'the instance started with this state directory')
  .argument('[jobpath]', 'a job running an instance: 12, or 12/5 through levels')
  .action(action(() => import('./commands/uri.js')));

jobShape(program.command('submit').description('submit a job (or many with --cc) and print its id'))
  .option('--cc <IDSET>', 'submit one copy per id, e.g. 1-1000; {cc} in the command is replaced')
  .option('--quiet', 'do not print job ids')
  .option('--wait', 'wait for the jobs to finish; exit non-zero if any failed')
  .option('--progress', 'show a progress bar with the rate (and with --wait, for completion too)')
  .argument('<command...>', 'command to run')
  .passThroughOptions()
  .action(action(() => import('./commands/submit.js')));

jobShape(program.command('run').description('submit a job, print its output as it runs, exit with its exit code'))
  .option('-l, --label-io', 'prefix each line of output with the rank of the task that wrote it ("3: ...")')
  .argument('<command...>', 'command to run')
  .passThroughOptions()
  .action(action(() => import('./commands/run.js')));

instanceShape(program.command('batch').description('submit a script to run as the initial program of a nested instance; print the job id'))
  .option('--wrap', 'the arguments are a command to wrap in a /bin/sh script')
  .argument('[script...]', 'script file (- or none: stdin) and its arguments')
  .passThroughOptions()
  .action(action(() => import('./commands/batch.js')));
instanceShape(program.command('alloc').description('start a nested instance on a new allocation and run COMMAND (or a shell) against it'))
  .option('--bg', 'leave the instance running and print its job id')
  .argument('[command...]', 'command to run with FRACTAL_URI set to the instance')
  .passThroughOptions()
  .action(action(() => import('./commands/alloc.js')));
program.command('proxy').description('run a shell (or COMMAND) whose commands reach the nested instance of a job')
  .argument('<jobpath>', 'a job running an instance: 12, or 12/5 through levels')
  .argument('[command...]')
  .passThroughOptions()
  .action(action(() => import('./commands/proxy.js')));
program.command('pstree').description('draw the tree of instances from this one (or -r JOBPATH) with their sizes and jobs by state')
  .option('-r, --remote <JOBPATH>', 'start at the nested instance of this job (as the global -r)')
  .option('-L, --level <N>', 'show at most N levels of instances (1: this one only)')
  .option('--json', 'print the tree as JSON')
  .option('--ascii', 'draw with ASCII characters (the default when the locale is not UTF-8)')
  .action(action(() => import('./commands/pstree.js')));
program.command('top').description('a live view of an instance (or -r JOBPATH): use, jobs, throughput; Enter descends into a nested instance')
  .option('-r, --remote <JOBPATH>', 'start at the nested instance of this job (as the global -r)')
  .option('-d, --delay <SECONDS>', 'seconds between refreshes', '2')
  .option('--once', 'print one frame as plain text and exit (also when stdout is not a terminal)')
  .option('-n, --iterations <N>', 'stop after N frames')
  .action(action(() => import('./commands/top.js')));
const job = program.command('job').description('work with one job');
job.command('submit').description('submit a jobspec file (YAML or JSON; - for stdin)')
  .option('--urgency <N>', 'urgency 0-31').argument('<file>')
  .action(action(() => import('./commands/job-submit.js')));
job.command('info').description("print a job's record, jobspec and resource set as JSON")
  .argument('<id>', 'a job id, or a path through nested instances (12/5), running or archived').argument('[key]', 'one of: jobspec, R, job')
  .action(action(() => import('./commands/job-info.js')));
job.command('eventlog').description("print a job's event log")
  .option('-f, --follow', 'keep printing new events until the job is inactive')
  .option('-H, --human', 'human-readable timestamps')
  .argument('<id>', 'a job id, or a path through nested instances (12/5), running or archived')
  .action(action(() => import('./commands/job-eventlog.js')));
job.command('kill').description("send a signal to a running job's tasks (default SIGTERM)")
  .option('-s, --signal <SIG>', 'signal name or number, e.g. USR1, INT, 9', 'TERM')
  .argument('<id>')
  .action(action(() => import('./commands/job-kill.js')));
job.command('validate').description('check jobspec files; exit 0 when all are valid')
  .option('--schema <KIND>', 'any (canonical RFC 14 or V1 RFC 25), canonical, or v1 (what `fractal submit` runs)', 'any')
  .argument('<files...>')
  .action(action(() => import('./commands/job-validate.js')));

program.command('jobs').description('list jobs')
  .option('-a, --all', 'include inactive jobs')
  .option('-f, --filter <STATES>', 'states or groups, comma separated: pending,running,inactive,sched,...')
  .option('-u, --user <USER>', 'only this user\'s jobs (name or uid; "all" for everyone)')
  .option('-o, --format <FORMAT>', 'output format, e.g. "{id} {state} {name:>10} {returncode}"')
  .option('-n, --no-header', 'omit the header line')
  .option('-c, --count <N>', 'show at most N jobs')
  .option('--json', 'print {"jobs":[...]} as JSON')
  .option('--stats', 'print counts by state first')
  .option('-R, --recursive', 'also the jobs of nested instances, with their paths (12/5); with -a also those of ended instances')
  .option('-L, --level <N>', 'with --recursive: at most N levels (1: only this instance)')
  .argument('[ids...]')
  .action(action(() => import('./commands/jobs.js')));

program.command('cancel').description('cancel jobs')
  .option('--all', 'cancel all of your active jobs')
  .option('-m, --message <NOTE>', 'note recorded with the cancellation')
  .argument('[ids...]')
  .action(action(() => import('./commands/cancel.js')));

program.command('wait').description('wait for a job (or all jobs); exit code 1 if any failed')
  .option('--all', 'wait until no job is active')
  .option('-v, --verbose', 'print each result')
  .argument('[id]')
  .action(action(() => import('./commands/wait.js')));

program.command('attach').description("print a job's output (live while it runs) and exit with its exit code")
  .option('-l, --label-io', 'prefix each line of output with the rank of the task that wrote it ("3: ...")')
  .argument('<id>')
  .action(action(() => import('./commands/attach.js')));

program.command('update').description('change a pending job: duration=10m urgency=20 name=x')
  .argument('<id>').argument('<key=value...>')
  .action(action(() => import('./commands/update.js')));

program.command('queue').description('queue control: status, list, enable, disable, start, stop, drain, idle')
  .argument('<subcommand>').argument('[reason...]')
  .action(action(() => import('./commands/queue.js')));

program.command('resource').description('resources: list, status, drain TARGETS [REASON], undrain TARGETS')
  .argument('<subcommand>').argument('[args...]')
  .action(action(() => import('./commands/resource.js')));

program.command('account').description('accounts and users: list, add, modify, delete, add-user, modify-user, delete-user')
  .argument('[subcommand]').argument('[args...]')
  .option('--parent <ACCOUNT>', 'parent account (add, modify)')
  .option('--shares <N>', 'fair-share shares (default 1)')
  .option('--max-running <N>', 'limit of running jobs (-1: none)')
  .option('--max-cores <N>', 'limit of cores in use (-1: none)')
  .option('--description <TEXT>', 'account description')
  .option('--default', "make this the user's default account (add-user, modify-user)")
  .option('--json', 'list as JSON')
  .action(action(() => import('./commands/account.js')));

program.command('reservation').description('advance reservations: create, list, update, delete')
  .argument('[subcommand]').argument('[name]')
  .option('--name <NAME>', 'the reservation (create, update, delete; or give it after the subcommand)')
  .option('--start <TIME>', 'start: ISO date (2026-12-01T08:00, local time), epoch seconds, +DURATION or now (default now)')
  .option('--duration <DURATION>', 'length, e.g. 4h')
  .option('--end <TIME>', 'end, instead of --duration')
  .option('-N <N>', 'number of nodes to reserve (the scheduler picks nodes free for the whole window)')
  .option('--nodes <NODES>', 'reserve these nodes: ranks (0-3) or host names')
  .option('--nodelist <NODES>', 'the same as --nodes')
  .option('--users <LIST>', 'users who may run in it, comma-separated')
  .option('--accounts <LIST>', 'accounts whose jobs may run in it, comma-separated')
  .option('--json', 'list as JSON')
  .action(action(() => import('./commands/reservation.js')));

program.command('qos').description('quality of service levels: list, add, modify, delete')
  .argument('[subcommand]').argument('[name]')
  .option('--priority <N>', 'priority boost (the multifactor QOS factor is this over the highest)')
  .option('--preempt <LIST>', 'QOS names whose running jobs this QOS may preempt, comma-separated')
  .option('--preempt-mode <MODE>', 'what happens to a preempted job of this QOS: requeue (default) or cancel')
  .option('--max-running <N>', 'limit of running jobs (-1: none)')
  .option('--json', 'list as JSON')
  .action(action(() => import('./commands/qos.js')));

program.command('usage').description('core- and GPU-hours of finished jobs by user, account or association')
  .option('--by <KEY>', 'user, account or association', 'user')
  .option('--since <TIME>', 'start of the period: ISO date, epoch seconds or -DURATION (e.g. -7d)')
  .option('--until <TIME>', 'end of the period (default now)')
  .option('--json', 'print JSON')
  .action(action(() => import('./commands/usage.js')));

program.command('resource-query').description('load a resource graph and match jobspecs read from stdin (like Fluxion\'s resource-query)')
  .requiredOption('-L, --load <GRAPHFILE>', 'graph file to load')
  .option('-f, --format <FORMAT>', 'graph format: grug, jgf, config, slurm (default: from the file name)')
  .option('-P, --policy <POLICY>', 'match policy: first, low-id, high-id, pack, spread', 'first')
  .option('-F, --output <FORMAT>', 'resource set format: rv1 or jgf', 'rv1')
  .option('-t, --timing', 'print the load time and each match time')
  .action(action(() => import('./commands/resource-query.js')));

program.command('sim').description('replay a workload trace (SWF) through the scheduling policies with a virtual clock')
  .requiredOption('--trace <FILE>', 'trace in Standard Workload Format (.swf or .swf.gz)')
  .option('--policy <POLICY>', 'fcfs, easy, conservative, hybrid (or sjf with --compat)', 'easy')
  .option('--nodes <N>', 'nodes of the simulated machine (default: from the trace header)')
  .option('--cores-per-node <C>', 'cores per node', '1')
  .option('--estimates <KIND>', 'user (requested times) or exact (run times)', 'user')
  .option('--reservation-depth <K>', 'hybrid: reservations for the first K jobs', '4')
  .option('--queue-depth <N>', 'how many pending jobs each cycle considers (default: all)')
  .option('--no-kill', 'let jobs run past their time limit (default: killed at the limit)')
  .option('--seed <N>', 'seed of the tie-breaks between jobs submitted at the same second', '0')
  .option('--compat <MODE>', 'reproduce a published setup: rlscheduler')
  .option('--backfill', 'compat mode: enable its backfilling')
  .option('--out <DIR>', 'write jobs.csv and plots (SVG) here')
  .option('--json', 'print one JSON object with the metrics')
  .action(action(() => import('./commands/sim.js')));

// A closed pipe (`fractal jobs | head`) ends the command quietly.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

program.parseAsync(process.argv).catch(async (e: unknown) => {
  const err = FractalError.from(e);
  // Messages may echo user input (names, paths): escaped, as all user text on a terminal.
  process.stderr.write(`fractal: ${safeLines(err.message)}\n`);
  process.exitCode = 1;
  (await import('./util.js')).closeAll();
});
