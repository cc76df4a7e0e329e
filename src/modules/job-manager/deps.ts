/**
 * Job dependencies (Flux RFC 26): `after`, `afterany`, `afterok`,
 * `afternotok` on other job ids, and `begin-time` (a start time).
 */
import { invalid } from '../../errors/index.js';

export interface Dependency {
  scheme: 'after' | 'afterany' | 'afterok' | 'afternotok' | 'begin-time';
  /** Target job id, or epoch seconds for begin-time. */
  value: number;
  description: string;
}

const SCHEMES = new Set(['after', 'afterany', 'afterok', 'afternotok', 'begin-time']);

/** Reads attributes.system.dependencies: [{scheme, value}] (values may be strings). */
export function parseDependencies(system: Record<string, unknown> | undefined): Dependency[] {
  const raw = system?.['dependencies'];
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw invalid('attributes.system.dependencies must be a list of {scheme, value}, e.g. [{"scheme":"afterok","value":42}]');
  return raw.map((d: unknown, i) => {
    const o = d as { scheme?: unknown; value?: unknown };
    if (typeof o?.scheme !== 'string' || !SCHEMES.has(o.scheme)) {
      throw invalid(`attributes.system.dependencies[${i}].scheme must be one of after, afterany, afterok, afternotok, begin-time (got ${JSON.stringify(o?.scheme)})`);
    }
    const v = typeof o.value === 'string' ? Number(o.value) : o.value;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      throw invalid(`attributes.system.dependencies[${i}].value must be a job id (or epoch seconds for begin-time), got ${JSON.stringify(o.value)}`);
    }
    const scheme = o.scheme as Dependency['scheme'];
    return { scheme, value: v, description: `${scheme}=${v}` };
  });
}

/** Is the dependency met, given the target's state? `undefined` = not yet known; `false` = never. */
export function evaluate(dep: Dependency, target: { state: string; success: boolean; started: boolean }): boolean | undefined {
  const done = target.state === 'INACTIVE';
  switch (dep.scheme) {
    case 'after':
      if (target.state === 'RUN' || target.state === 'CLEANUP') return true;
      return done ? target.started : undefined;
    case 'afterany':
      return done ? true : undefined;
    case 'afterok':
      return done ? target.success : undefined;
    case 'afternotok':
      return done ? !target.success : undefined;
    default:
      return undefined;
  }
}

/**
 * The dependency a `dependency-add` description names ("afterok=42",
 * "begin-time=1767225600"), as written by `parseDependencies`: restart
 * re-arms outstanding dependencies from the log with this, no second grammar.
 */
export function fromDescription(description: string): Dependency | undefined {
  const i = description.indexOf('=');
  const scheme = description.slice(0, i);
  const text = description.slice(i + 1);
  const value = Number(text);
  if (i <= 0 || text.trim() === '' || !SCHEMES.has(scheme) || !Number.isFinite(value) || value < 0) return undefined;
  return { scheme: scheme as Dependency['scheme'], value, description };
}
