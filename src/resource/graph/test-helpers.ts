/**
 * Test helpers (not tests, not part of the public surface): a fluent
 * jobspec builder, small graphs, and the location of Fluxion's vectors.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { sharedDir } from '../../testing/index.js';
import type { Jobspec, ResourceVertex } from '../../jobspec/index.js';
import { parseJobspecText } from '../../jobspec/index.js';
import { syntheticGraph } from './load-synthetic.js';
import type { SyntheticSpec } from './load-synthetic.js';
import type { GraphStore } from './store.js';

/** Fluxion's vector root (flux-sched), or undefined when the shared test data is missing. */
export function fluxSchedDir(): string | undefined {
  try {
    const d = resolve(sharedDir(), 'vectors/flux/flux-sched');
    return existsSync(d) ? d : undefined;
  } catch {
    return undefined;
  }
}

export function fluxSchedFile(rel: string): string | undefined {
  const d = fluxSchedDir();
  if (d === undefined) return undefined;
  const p = resolve(d, 't/data/resource', rel);
  return existsSync(p) ? readFileSync(p, 'utf8') : undefined;
}

export function fluxSchedJobspec(rel: string): unknown {
  const text = fluxSchedFile(`jobspecs/${rel}`);
  return text === undefined ? undefined : parseJobspecText(text, rel);
}

/** The tiny GRUG of Fluxion's tests, inline: cluster → rack → 2 nodes → 2 sockets → 18 cores, 1 GPU, 4×2 GB memory. */
export const TINY_GRUG = `<graphml xmlns="http://graphml.graphdrawing.org/xmlns">
<key id="root" for="node" attr.name="root" attr.type="int"><default>0</default></key>
<key id="type" for="node" attr.name="type" attr.type="string"/>
<key id="basename" for="node" attr.name="basename" attr.type="string"/>
<key id="unit" for="node" attr.name="unit" attr.type="string"/>
<key id="size" for="node" attr.name="size" attr.type="long"><default>1</default></key>
<key id="subsystem" for="node" attr.name="subsystem" attr.type="string"><default>containment</default></key>
<key id="e_subsystem" for="edge" attr.name="e_subsystem" attr.type="string"><default>containment</default></key>
<key id="id_scope" for="edge" attr.name="id_scope" attr.type="int"><default>0</default></key>
<key id="id_start" for="edge" attr.name="id_start" attr.type="int"><default>0</default></key>
<key id="id_stride" for="edge" attr.name="id_stride" attr.type="int"><default>1</default></key>
<key id="gen_method" for="edge" attr.name="gen_method" attr.type="string"><default>MULTIPLY</default></key>
<key id="multi_scale" for="edge" attr.name="multi_scale" attr.type="int"><default>1</default></key>
<graph id="tiny" edgedefault="directed">
<node id="cluster"><data key="root">1</data><data key="type">cluster</data><data key="basename">tiny</data></node>
<node id="rack"><data key="type">rack</data><data key="basename">rack</data></node>
<node id="node"><data key="type">node</data><data key="basename">node</data></node>
<node id="socket"><data key="type">socket</data><data key="basename">socket</data></node>
<node id="core"><data key="type">core</data><data key="basename">core</data></node>
<node id="memory"><data key="type">memory</data><data key="basename">memory</data><data key="size">2</data><data key="unit">GB</data></node>
<node id="gpu"><data key="type">gpu</data><data key="basename">gpu</data></node>
<edge id="cluster2rack" source="cluster" target="rack"><data key="multi_scale">1</data></edge>
<edge id="rack2node" source="rack" target="node"><data key="id_scope">1</data><data key="multi_scale">2</data></edge>
<edge id="node2socket" source="node" target="socket"><data key="multi_scale">2</data></edge>
<edge id="socket2core" source="socket" target="core"><data key="id_scope">1</data><data key="multi_scale">18</data></edge>
<edge id="socket2gpu" source="socket" target="gpu"><data key="id_scope">1</data><data key="multi_scale">1</data></edge>
<edge id="socket2memory" source="socket" target="memory"><data key="id_scope">1</data><data key="multi_scale">4</data></edge>
</graph>
</graphml>`;

/** A small synthetic machine: 2 racks × 2 nodes × 2 sockets × 4 cores + 1 GPU per socket. */
export function smallGraph(over: Partial<SyntheticSpec> = {}): GraphStore {
  return syntheticGraph({ racksPerCluster: 2, nodesPerRack: 2, socketsPerNode: 2, coresPerSocket: 4, gpusPerSocket: 1, ...over });
}

export const res = (type: string, count: ResourceVertex['count'], ...w: ResourceVertex[]): ResourceVertex =>
  w.length === 0 ? { type, count } : { type, count, with: w };

export const slot = (count: ResourceVertex['count'], ...w: ResourceVertex[]): ResourceVertex => ({ type: 'slot', count, label: 'task', with: w });

/** A jobspec around the given resources (one task per slot). */
export function jobspec(resources: ResourceVertex[], system: Record<string, unknown> = { duration: 3600 }): Jobspec {
  return { version: 1, resources, tasks: [{ command: ['app'], slot: 'task', count: { per_slot: 1 } }], attributes: { system } };
}

/** Fluent builder: makeJob().nodes(2).cores(4).gpus(1).build() */
export function makeJob(): JobBuilder {
  return new JobBuilder();
}

export class JobBuilder {
  #nodes = 0;
  #slots = 1;
  #cores = 1;
  #gpus = 0;
  #exclusive = false;
  #system: Record<string, unknown> = { duration: 3600 };

  nodes(n: number): this {
    this.#nodes = n;
    return this;
  }
  slots(n: number): this {
    this.#slots = n;
    return this;
  }
  cores(n: number): this {
    this.#cores = n;
    return this;
  }
  gpus(n: number): this {
    this.#gpus = n;
    return this;
  }
  exclusive(): this {
    this.#exclusive = true;
    return this;
  }
  duration(s: number): this {
    this.#system = { ...this.#system, duration: s };
    return this;
  }
  constraints(c: Record<string, unknown>): this {
    this.#system = { ...this.#system, constraints: c };
    return this;
  }
  build(): Jobspec {
    const inner = [res('core', this.#cores), ...(this.#gpus > 0 ? [res('gpu', this.#gpus)] : [])];
    const s = slot(this.#slots, ...inner);
    const top: ResourceVertex = this.#nodes > 0 ? { type: 'node', count: this.#nodes, with: [s], ...(this.#exclusive ? { exclusive: true } : {}) } : s;
    return jobspec([top], this.#system);
  }
}
