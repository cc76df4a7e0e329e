/**
 * Hints for unknown options. No imports: main.ts loads this for every
 * command, and start-up must stay short (commands load their own modules).
 */

/**
 * Options users bring from Slurm and Flux that Fractal spells differently:
 * an unknown option names the Fractal spelling instead of a bare "unknown
 * option". Keys are the foreign spellings; values say what to type.
 */
const FOREIGN_OPTIONS: Record<string, string> = {
  '--array': '--cc=IDSET (e.g. --cc=1-100; {cc} in the command is replaced by each id)',
  '-a': '--cc=IDSET for a job array (e.g. --cc=1-100)',
  '--hold': '--urgency=0 (release it with `fractal update ID urgency=16`)',
  '-H': '--urgency=0 to submit held',
  '--partition': '--queue NAME (see `fractal queue list`)',
  '-p': '--queue NAME (see `fractal queue list`)',
  '--time': '-t/--time-limit DURATION (e.g. -t 30m)',
  '--cpus-per-task': '-c/--cores-per-task N',
  '--cores': '-c/--cores-per-task N',
  '--nslots': '-n/--ntasks N',
  '--ntasks-per-node': '-N NODES with -n TASKS (e.g. -N2 -n8 for 4 per node)',
  '--tasks-per-node': '-N NODES with -n TASKS (e.g. -N2 -n8 for 4 per node)',
  '--gpus': '-g/--gpus-per-task N',
  '--gres': '-g/--gpus-per-task N',
  '--gpus-per-node': '-g/--gpus-per-task N (with -N and -n)',
  '-G': '-g/--gpus-per-task N',
  '-J': '--job-name NAME',
  '--name': '--job-name NAME',
  '--chdir': '--cwd DIR',
  '-D': '--cwd DIR',
  '--export': '--env VAR=VALUE (the job gets your environment already)',
  '--begin': '--begin-time +DURATION|EPOCH|ISO',
  '--constraint': '--requires QUERY (e.g. --requires bigmem)',
  '-C': '--requires QUERY (e.g. --requires bigmem)',
  '--nodelist': '--requires host:NAMES (e.g. --requires "host:node[1-2]")',
  '-w': '--requires host:NAMES (e.g. --requires "host:node[1-2]")',
  '--exclude': '--requires -host:NAMES (e.g. --requires "-host:node3")',
  '-x': '--requires -host:NAMES (e.g. --requires "-host:node3")',
  '--priority': '--urgency 0-31 (or `fractal update ID urgency=N`)',
  '--nice': '--urgency 0-31 (lower is less urgent; default 16)',
  '--reservation-name': '--reservation NAME',
  '--dependencies': '--dependency afterok:ID',
  '-d': '--dependency afterok:ID',
  '--output-file': '--output TEMPLATE',
  '-o': '--output TEMPLATE (for submit and run)',
  '-e': '--error TEMPLATE',
  '--flags': 'nothing: every job is waitable (`fractal wait`)',
  '--wait-event': '--wait (submit) or `fractal wait ID`',
  '--signal': '`fractal job kill -s SIG ID`',
  '--state': '-f/--filter STATES (fractal jobs)',
  '--states': '-f/--filter STATES (fractal jobs)',
  '-t': '-t/--time-limit for submit and run; for jobs, -f/--filter STATES',
  '--noheader': '-n/--no-header (fractal jobs)',
  '--no-header': '-n/--no-header (fractal jobs)',
  '--format': '-o/--format (fractal jobs)',
  '--me': 'nothing: `fractal jobs` lists your jobs by default (-u all for everyone)',
};

/** The Fractal spelling of a Slurm/Flux option, for the "unknown option" error. */
export function foreignOptionHint(flag: string): string | undefined {
  const name = flag.split('=')[0]!;
  return Object.hasOwn(FOREIGN_OPTIONS, name) ? FOREIGN_OPTIONS[name] : undefined;
}

/**
 * Rewrites commander's "error: unknown option '--array=1-10'" to say what to
 * type instead; commander's own "Did you mean" (an edit-distance guess) is
 * kept when there is no known equivalent.
 */
export function explainUnknownOption(message: string): string {
  const m = /unknown option '([^']+)'/.exec(message);
  if (!m) return message;
  const hint = foreignOptionHint(m[1]!);
  if (hint === undefined) return message;
  const flag = m[1]!.split('=')[0]!;
  const head = message.replace(/\s*\(Did you mean [^)]*\)\s*$/, '').trimEnd();
  return `${head}\nFractal's spelling of ${flag}: ${hint}\n`;
}
