/**
 * A small hand-written SVG line chart (no dependencies), and the binning of a
 * simulation timeline (a step function sampled at every cycle) into
 * time-weighted averages so that a plot of a million events stays small.
 */
import type { Timeline } from './engine.js';

export interface Series {
  name: string;
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  color?: string;
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  width?: number;
  height?: number;
  /** Fix the y range (default: 0 to the data's maximum). */
  yMax?: number;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** About `count` round tick values covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

function fmtTick(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e6) return `${Number((v / 1e6).toPrecision(3))}M`;
  if (a >= 1e4) return `${Number((v / 1e3).toPrecision(3))}k`;
  return String(Number(v.toPrecision(4)));
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd'];

export function lineChart(series: readonly Series[], o: ChartOptions): string {
  const W = o.width ?? 900, H = o.height ?? 360;
  const L = 70, R = 20, T = 40, B = 50;
  const pw = W - L - R, ph = H - T - B;
  let xmin = Infinity, xmax = -Infinity, ymax = 0;
  for (const s of series) {
    for (let i = 0; i < s.x.length; i++) {
      const x = s.x[i]!, y = s.y[i]!;
      if (x < xmin) xmin = x;
      if (x > xmax) xmax = x;
      if (y > ymax) ymax = y;
    }
  }
  if (!(xmax > xmin)) { xmin = Number.isFinite(xmin) ? xmin : 0; xmax = xmin + 1; }
  const yTop = o.yMax ?? (ymax > 0 ? ymax * 1.05 : 1);
  const sx = (x: number) => L + ((x - xmin) / (xmax - xmin)) * pw;
  const sy = (y: number) => T + ph - (Math.min(y, yTop) / yTop) * ph;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${esc(o.title)}</text>`);
  for (const v of niceTicks(0, yTop)) {
    const y = sy(v).toFixed(1);
    out.push(`<line x1="${L}" x2="${L + pw}" y1="${y}" y2="${y}" stroke="#ddd"/>`);
    out.push(`<text x="${L - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${fmtTick(v)}</text>`);
  }
  for (const v of niceTicks(xmin, xmax, 8)) {
    const x = sx(v).toFixed(1);
    out.push(`<line x1="${x}" x2="${x}" y1="${T + ph}" y2="${T + ph + 5}" stroke="#333"/>`);
    out.push(`<text x="${x}" y="${T + ph + 18}" text-anchor="middle">${fmtTick(v)}</text>`);
  }
  out.push(`<rect x="${L}" y="${T}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  out.push(`<text x="${L + pw / 2}" y="${H - 10}" text-anchor="middle">${esc(o.xLabel)}</text>`);
  out.push(`<text transform="translate(16 ${T + ph / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel)}</text>`);
  series.forEach((s, k) => {
    const color = s.color ?? PALETTE[k % PALETTE.length]!;
    const pts: string[] = [];
    for (let i = 0; i < s.x.length; i++) pts.push(`${sx(s.x[i]!).toFixed(1)},${sy(s.y[i]!).toFixed(1)}`);
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="1.2" points="${pts.join(' ')}"/>`);
    if (series.length > 1) {
      out.push(`<text x="${L + 10}" y="${T + 16 + 16 * k}" fill="${color}">${esc(s.name)}</text>`);
    }
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

export interface Binned {
  /** Bin centres, in `unit`s since the first sample. */
  x: Float64Array;
  used: Float64Array;
  queued: Float64Array;
  unit: 'seconds' | 'hours' | 'days';
}

/** Time-weighted averages of the timeline over `bins` equal intervals. */
export function binTimeline(tl: Timeline, bins = 600): Binned {
  const n = tl.time.length;
  const t0 = n > 0 ? tl.time[0]! : 0;
  const t1 = n > 0 ? tl.time[n - 1]! : 1;
  const span = t1 > t0 ? t1 - t0 : 1;
  const unit = span >= 2 * 86400 ? 'days' : span >= 2 * 3600 ? 'hours' : 'seconds';
  const div = unit === 'days' ? 86400 : unit === 'hours' ? 3600 : 1;
  const w = span / bins;
  const used = new Float64Array(bins), queued = new Float64Array(bins), x = new Float64Array(bins);
  for (let k = 0; k < n - 1; k++) {
    const a = tl.time[k]!, b = tl.time[k + 1]!;
    if (!(b > a)) continue;
    const u = tl.used[k]!, q = tl.queued[k]!;
    let bi = Math.min(bins - 1, Math.floor((a - t0) / w));
    let s = a;
    while (s < b && bi < bins) {
      const binEnd = t0 + (bi + 1) * w;
      const e = Math.min(b, binEnd);
      used[bi]! += u * (e - s);
      queued[bi]! += q * (e - s);
      s = e;
      bi++;
    }
  }
  for (let k = 0; k < bins; k++) {
    used[k]! /= w;
    queued[k]! /= w;
    x[k] = (k + 0.5) * w / div;
  }
  return { x, used, queued, unit };
}

/** The two plots of a simulation: utilization (%) and queue length over time. */
export function timelinePlots(tl: Timeline, capacity: number, title: string): { utilization: string; queue: string } {
  const b = binTimeline(tl);
  const pct = b.used.map((u) => (100 * u) / capacity);
  return {
    utilization: lineChart([{ name: 'utilization', x: b.x, y: pct }], {
      title: `${title}: utilization`, xLabel: `time (${b.unit} since the first submit)`, yLabel: 'cores in use (%)', yMax: 100,
    }),
    queue: lineChart([{ name: 'queue', x: b.x, y: b.queued }], {
      title: `${title}: queue length`, xLabel: `time (${b.unit} since the first submit)`, yLabel: 'pending jobs (time average)',
    }),
  };
}
