/**
 * Output file templates (`--output`, `--error`): `{id}`, `{{id}}` and `%j`
 * become the job id, `{name}`, `{{name}}` and `%x` the job name (Flux's and
 * Slurm's spellings). A relative result is taken from the job's working
 * directory.
 *
 * The template is the user's own choice and is used as written. The values
 * put into it are not: a job name is free text (and can be changed later
 * with `fractal update`), so it is reduced to one harmless file-name piece
 * before it is substituted. It can then neither add a directory level nor
 * climb out of one (`/`, `..`), nor turn a relative template into an
 * absolute path.
 */

export interface OutputPathFields {
  id: number;
  /** The job name (attributes.system.job.name); "job" when unset or empty. */
  name?: string | undefined;
  /** The job's working directory, for relative templates. */
  cwd: string;
}

/**
 * One file-name piece from free text: `/`, NUL and other control characters
 * become `_`, and so does a leading `.` (no `..`, no hidden file); an empty
 * value becomes `job`.
 */
export function safePathPiece(value: string): string {
  const s = value.replace(/[/\u0000-\u001f\u007f-\u009f]/g, '_').replace(/^\./, '_');
  return s === '' ? 'job' : s;
}

const ID = /\{\{id\}\}|\{id\}|%j/g;
const NAME = /\{\{name\}\}|\{name\}|%x/g;

/** The path a template names for this job (see the module comment). */
export function expandOutputPath(template: string, f: OutputPathFields): string {
  const name = safePathPiece(f.name ?? '');
  // A function replacement: `$&` and friends in a job name stay literal.
  const s = template.replace(ID, () => String(f.id)).replace(NAME, () => name);
  return template.startsWith('/') ? s : `${f.cwd}/${s}`;
}
