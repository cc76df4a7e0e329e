/**
 * One entry point for graph files: picks the reader from the format name or
 * the file name and content (GRUG GraphML, JGF, R, Fractal's YAML config,
 * slurm.conf). Text in, GraphStore out: reading the file is the caller's.
 */
import { invalid } from '../../errors/index.js';
import { loadConfigText } from './load-config.js';
import { loadGrug } from './load-grug.js';
import { loadJgf, loadRv1 } from './load-jgf.js';
import { loadSlurmConf } from './load-slurm.js';
import type { GraphStore } from './store.js';

export type GraphFormat = 'grug' | 'jgf' | 'rv1' | 'config' | 'slurm';
export const GRAPH_FORMATS: readonly GraphFormat[] = ['grug', 'jgf', 'rv1', 'config', 'slurm'];

/** The format of a graph file, from its name, else from its first bytes. */
export function detectGraphFormat(fileName: string, text: string): GraphFormat {
  const f = fileName.toLowerCase();
  if (f.endsWith('.graphml') || f.endsWith('.xml')) return 'grug';
  if (f.endsWith('slurm.conf') || f.endsWith('.conf')) return 'slurm';
  if (f.endsWith('.yaml') || f.endsWith('.yml') || f.endsWith('.toml')) return 'config';
  const head = text.trimStart();
  if (head.startsWith('<')) return 'grug';
  if (head.startsWith('{')) return /"R_lite"/.test(text.slice(0, 4096)) && !/"scheduling"/.test(text) ? 'rv1' : /"graph"/.test(text) ? 'jgf' : 'config';
  if (/^\s*NodeName\s*=/im.test(text)) return 'slurm';
  return 'config';
}

/** Reads a graph from text in the given format (default: detected). */
export function loadGraphText(text: string, format: GraphFormat | undefined, fileName = 'graph'): GraphStore {
  const fmt = format ?? detectGraphFormat(fileName, text);
  const json = (): unknown => {
    try {
      return JSON.parse(text) as unknown;
    } catch (e) {
      throw invalid(`${fileName}: not valid JSON (${e instanceof Error ? e.message : String(e)}); is it really ${fmt}?`);
    }
  };
  switch (fmt) {
    case 'grug':
      return loadGrug(text);
    case 'jgf':
      return loadJgf(json());
    case 'rv1':
      return loadRv1(json());
    case 'config':
      return loadConfigText(text, fileName);
    case 'slurm':
      return loadSlurmConf(text);
    default:
      throw invalid(`unknown graph format "${String(fmt)}"; use one of ${GRAPH_FORMATS.join(', ')}`);
  }
}
