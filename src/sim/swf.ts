/**
 * Reader for the Standard Workload Format (SWF) of the Parallel Workloads
 * Archive: header comments (`; Key: value`) then one job per line with 18
 * whitespace-separated numeric fields, -1 for a missing value. Plain or gzip
 * (recognised by its magic bytes), read as a stream.
 */
import { createReadStream, openSync, readSync, closeSync } from 'node:fs';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import { FractalError, ErrorCodes, invalid } from '../errors/index.js';

/** One SWF job line, fields in file order (times in seconds, memory in KB). */
export interface SwfJob {
  id: number;
  submit: number;
  wait: number;
  run: number;
  allocProcs: number;
  cpuTime: number;
  usedMemory: number;
  reqProcs: number;
  reqTime: number;
  reqMemory: number;
  status: number;
  user: number;
  group: number;
  executable: number;
  queue: number;
  partition: number;
  precedingJob: number;
  thinkTime: number;
}

export const SWF_FIELDS = [
  'job number', 'submit time', 'wait time', 'run time', 'allocated processors', 'average CPU time', 'used memory',
  'requested processors', 'requested time', 'requested memory', 'status', 'user id', 'group id', 'executable number',
  'queue number', 'partition number', 'preceding job number', 'think time',
] as const;

export interface SwfHeader {
  /** `MaxProcs`, when the header gives a positive one. */
  maxProcs?: number;
  /** `MaxNodes`, when the header gives a positive one. */
  maxNodes?: number;
  /** Every `; Key: value` header line, by key. */
  fields: Map<string, string>;
}

export interface SwfTrace {
  name: string;
  header: SwfHeader;
  jobs: SwfJob[];
}

/** Parses the leading integer of a header value ("338 (batch partition; 512 total)" → 338). */
function leadingInt(v: string): number | undefined {
  const m = /^\s*(\d+)/.exec(v);
  if (!m) return undefined;
  const n = Number(m[1]);
  return n > 0 ? n : undefined;
}

/** Incremental parser: feed lines, then take the trace. */
export class SwfParser {
  private lineNo = 0;
  private readonly jobs: SwfJob[] = [];
  private readonly fields = new Map<string, string>();

  constructor(private readonly name: string) {}

  line(raw: string): void {
    this.lineNo++;
    const s = raw.trim();
    if (s === '') return;
    if (s.charCodeAt(0) === 59 /* ; */) {
      const m = /^;\s*([A-Za-z][\w-]*)\s*:\s*(.*)$/.exec(s);
      if (m && !this.fields.has(m[1]!)) this.fields.set(m[1]!, m[2]!.trim());
      return;
    }
    const parts = s.split(/\s+/);
    if (parts.length !== 18) {
      throw invalid(`${this.name} line ${this.lineNo}: expected 18 numeric fields (Standard Workload Format), found ${parts.length}: "${clip(s)}"`);
    }
    const v = new Array<number>(18);
    for (let k = 0; k < 18; k++) {
      const p = parts[k]!;
      const x = Number(p);
      if (!Number.isFinite(x)) {
        throw invalid(`${this.name} line ${this.lineNo}: field ${k + 1} (${SWF_FIELDS[k]}) is "${clip(p)}", not a number`);
      }
      v[k] = x;
    }
    this.jobs.push({
      id: v[0]!, submit: v[1]!, wait: v[2]!, run: v[3]!, allocProcs: v[4]!, cpuTime: v[5]!, usedMemory: v[6]!,
      reqProcs: v[7]!, reqTime: v[8]!, reqMemory: v[9]!, status: v[10]!, user: v[11]!, group: v[12]!,
      executable: v[13]!, queue: v[14]!, partition: v[15]!, precedingJob: v[16]!, thinkTime: v[17]!,
    });
  }

  get lines(): number {
    return this.lineNo;
  }

  finish(): SwfTrace {
    const header: SwfHeader = { fields: this.fields };
    const mp = leadingInt(this.fields.get('MaxProcs') ?? '');
    const mn = leadingInt(this.fields.get('MaxNodes') ?? '');
    if (mp !== undefined) header.maxProcs = mp;
    if (mn !== undefined) header.maxNodes = mn;
    return { name: this.name, header, jobs: this.jobs };
  }
}

function clip(s: string): string {
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** Parses SWF text already in memory. */
export function parseSwf(text: string, name = 'trace'): SwfTrace {
  const p = new SwfParser(name);
  let start = 0;
  for (;;) {
    const nl = text.indexOf('\n', start);
    if (nl < 0) {
      if (start < text.length) p.line(text.slice(start));
      break;
    }
    p.line(text.slice(start, nl));
    start = nl + 1;
  }
  return p.finish();
}

function isGzip(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new FractalError(ErrorCodes.NOT_FOUND, `trace file "${path}" does not exist: check the --trace path`);
    if (code === 'EISDIR') throw invalid(`trace "${path}" is a directory: give an .swf or .swf.gz file`);
    throw invalid(`cannot read trace "${path}": ${(e as Error).message}`);
  }
  try {
    const b = Buffer.alloc(2);
    const n = readSync(fd, b, 0, 2, 0);
    return n === 2 && b[0] === 0x1f && b[1] === 0x8b;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EISDIR') throw invalid(`trace "${path}" is a directory: give an .swf or .swf.gz file`);
    throw invalid(`cannot read trace "${path}": ${(e as Error).message}`);
  } finally {
    closeSync(fd);
  }
}

/** Reads an SWF file (plain or gzip) as a stream. */
export async function readSwf(path: string): Promise<SwfTrace> {
  const gz = isGzip(path);
  const name = path.split('/').pop() ?? path;
  const parser = new SwfParser(name);
  const file = createReadStream(path);
  const stream: Readable = gz ? file.pipe(createGunzip()) : file;
  if (gz) file.on('error', (e) => stream.destroy(e));
  stream.setEncoding('utf8');
  let carry = '';
  try {
    for await (const chunk of stream) {
      const text = carry + (chunk as string);
      let start = 0;
      for (;;) {
        const nl = text.indexOf('\n', start);
        if (nl < 0) break;
        parser.line(text.slice(start, nl));
        start = nl + 1;
      }
      carry = text.slice(start);
    }
  } catch (e) {
    if (e instanceof FractalError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (gz && typeof code === 'string' && code.startsWith('Z_')) throw invalid(`${name}: not a valid gzip file (${(e as Error).message}) near line ${parser.lines + 1}`);
    throw invalid(`cannot read trace "${path}": ${(e as Error).message}`);
  } finally {
    stream.destroy();
  }
  if (carry !== '') parser.line(carry);
  return parser.finish();
}
