/**
 * Test helper (not a test, not part of the public surface): locates the flux
 * jobspec test vectors shared beside the project and loads them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sharedDir } from '../testing/index.js';
import { parseJobspecText } from './files.js';

/** The vector root, wherever the shared test data is. */
export function vectorDir(): string {
  return join(sharedDir(), 'vectors/flux/flux-core/t/jobspec');
}

export interface Vector {
  name: string;
  path: string;
  text: string;
}

/** Every .yaml file of one vector folder (valid, invalid, valid_v1, invalid_v1), sorted. */
export function vectors(folder: string): Vector[] {
  const dir = join(vectorDir(), folder);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((name) => {
      const path = join(dir, name);
      return { name, path, text: readFileSync(path, 'utf8') };
    });
}

/** Parsed document of a vector (throws EINVAL for the deliberately broken YAML one). */
export function load(v: Vector): unknown {
  return parseJobspecText(v.text, v.name);
}
