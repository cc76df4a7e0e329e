/**
 * Jobspec text and files: YAML (a superset of JSON) to plain data, and a
 * batch file checker. The only part of the jobspec area that does I/O.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type * as YamlModule from 'yaml';
import { FractalError, invalid } from '../errors/index.js';
import { validateJobspec, validateJobspecAnyVersion } from './validate.js';
import type { JobspecVersion } from './validate.js';

/**
 * Parses jobspec text (YAML or JSON) into plain data, without validating it.
 * A syntax error becomes EINVAL naming the source and the line.
 */
// The YAML parser is loaded on first use: most CLI commands never need it,
// and start-up time is on every job's path for `fractal run`.
let yamlModule: typeof YamlModule | undefined;
function yaml(): typeof YamlModule {
  yamlModule ??= createRequire(import.meta.url)('yaml') as typeof YamlModule;
  return yamlModule;
}

export function parseJobspecText(text: string, sourceName: string): unknown {
  const { parse, YAMLError } = yaml();
  try {
    // Warnings (e.g. an unknown tag) are not printed: the validator judges
    // the resulting data.
    return parse(text, { prettyErrors: true, logLevel: 'error' });
  } catch (e) {
    if (!(e instanceof YAMLError)) throw e;
    // The parser appends " at line N, column M:" and a source excerpt; keep
    // only the first sentence and report the line ourselves.
    const message = e.message.split(/ at line \d+/)[0]?.trim() ?? e.message;
    const line = e.linePos?.[0].line;
    throw invalid(`${sourceName}: not valid YAML/JSON: ${message}${line === undefined ? '' : ` at line ${line}`}`);
  }
}

export interface FileCheck {
  path: string;
  ok: boolean;
  error?: string;
}

export interface ValidateFilesOptions {
  /** 'any' (default): canonical or V1, as `validateJobspecAnyVersion`. */
  version?: JobspecVersion | 'any';
}

/**
 * Reads, parses and validates each file. Problems (including unreadable
 * files) are reported per entry, in input order; this never rejects.
 */
export async function validateFiles(paths: string[], opts: ValidateFilesOptions = {}): Promise<FileCheck[]> {
  const version = opts.version ?? 'any';
  return Promise.all(paths.map(async (path): Promise<FileCheck> => {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (e) {
      const reason = e instanceof Error && 'code' in e && e.code === 'ENOENT' ? 'no such file' : FractalError.from(e).message;
      return { path, ok: false, error: `${path}: cannot read: ${reason}` };
    }
    try {
      const data = parseJobspecText(text, path);
      if (version === 'any') validateJobspecAnyVersion(data);
      else validateJobspec(data, { version });
      return { path, ok: true };
    } catch (e) {
      return { path, ok: false, error: FractalError.from(e).message };
    }
  }));
}
