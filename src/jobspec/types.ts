/**
 * The jobspec data model (RFC 14 canonical, RFC 25 V1). These are the shapes
 * that `validateJobspec` guarantees; V1 documents are a subset of canonical
 * ones, so one set of types covers both.
 */

/** Operators of a count range (RFC 14): addition, multiplication, exponentiation. */
export type CountOperator = '+' | '*' | '^';

/** The mapping form of a resource count. `max`, `operator`, `operand` come together or not at all. */
export interface CountRange {
  min: number;
  max?: number;
  operator?: CountOperator;
  operand?: number;
}

/**
 * A resource count: a fixed integer, a string (RFC 22 idset such as "4,9,16"
 * or RFC 45 range such as "2-32:2:*"; canonical only), or a range mapping
 * (canonical only). V1 allows only the integer form.
 */
export type ResourceCount = number | string | CountRange;

export interface ResourceVertex {
  type: string;
  count: ResourceCount;
  with?: ResourceVertex[];
  label?: string;
  exclusive?: boolean;
  unit?: string;
  id?: string;
}

export interface PerResourceCount {
  type: string;
  count: number;
}

/** Exactly one key. V1 allows `per_slot: 1` or `total`. */
export type TaskCount = { per_slot: number } | { total: number } | { per_resource: PerResourceCount };

/** Per-task attributes (canonical only): an environment override plus string values. */
export interface TaskAttributes {
  environment?: Record<string, string | null>;
  [key: string]: unknown;
}

export interface Task {
  command: string[];
  slot: string;
  count: TaskCount;
  distribution?: string;
  attributes?: TaskAttributes;
}

/** RFC 26 dependency object; schemes `string` and `fluid` also need `type` and `scope`. */
export interface Dependency {
  scheme: string;
  value: string;
  type?: 'in' | 'out' | 'inout';
  scope?: 'user' | 'global';
  [key: string]: unknown;
}

/**
 * `attributes.system`. Every key is optional in canonical jobspec; V1 requires
 * `duration`. Unknown keys are allowed (RFC 14: at most a warning).
 */
export interface SystemAttributes {
  /** Seconds, >= 0; 0 means unlimited. */
  duration?: number;
  'preemptible-after'?: number;
  cwd?: string;
  /** A null value unsets the variable. */
  environment?: Record<string, string | null>;
  queue?: string;
  bank?: string;
  project?: string;
  dependencies?: Dependency[];
  /** RFC 31 constraint object; only its being a mapping is checked here. */
  constraints?: Record<string, unknown>;
  /** Job metadata; every value is a string. */
  job?: { name?: string; [key: string]: string | undefined };
  shell?: { options?: Record<string, unknown>; [key: string]: unknown };
  /** RFC 37 file archive; only its being a mapping is checked here. */
  files?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface JobAttributes {
  system?: SystemAttributes;
  /** Free-form data for the user and their tools. */
  user?: Record<string, unknown>;
}

export interface Jobspec {
  version: number;
  resources: ResourceVertex[];
  tasks: Task[];
  attributes: JobAttributes;
}
