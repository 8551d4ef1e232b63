/**
 * The grid of `tessera sweep --grid FILE` (issue 18 §4): one base simulation, axes over job-spec fields (or
 * simulation settings), and seeds. The cells are the cross product of the axes; each cell runs once per seed.
 * The schema is strict where people write JSON: an unknown key is refused naming it and the nearest valid key.
 *
 * An axis is written in one of two forms:
 * - a path and its values: `"dp.epsilon": [0.5, 1, 2]` (a job-spec path; `clients`, `partition`, `samplingRate`,
 *   `rounds` … name simulation settings; `null` removes the field, leaving its default);
 * - named variants, each a job-spec fragment merged into the cell: `"privacy": {"ε=1": {"dp": {"enabled": true,
 *   "epsilon": 1}}, "no DP": {"dp": {"enabled": false}}}` — for settings that are more than one field.
 */
import { z } from 'zod';
import { canonicalHash } from '../../lib/canonical-json.ts';
import { describeZodIssues, TesseraError } from '../../protocol/errors.ts';
import { JobSpec } from '../../protocol/job/spec.ts';
import { keysAt, nearestKey } from '../../protocol/job/strict.ts';
import { SimulationConfig } from '../simulate.ts';

/** The simulation settings a grid's base may set (not seed — the grid's seeds —, state or consent files). */
export const SweepSimulation = z.strictObject(SimulationConfig.omit({ seed: true, stateDir: true, fresh: true, localConsent: true, clientPolicy: true, clientPolicySource: true, auditPrivacy: true }).shape);
export type SweepSimulation = z.infer<typeof SweepSimulation>;

const JsonValue: z.ZodType<unknown> = z.unknown();

export const SweepGrid = z.strictObject({
  /** Names the sweep in its report. */
  name: z.string().min(1).default('sweep'),
  simulation: SweepSimulation.prefault({}),
  seeds: z.array(z.union([z.number().int(), z.string().min(1)])).min(1),
  axes: z.record(z.string().min(1), z.union([z.array(JsonValue).min(1), z.record(z.string().min(1), z.record(z.string(), JsonValue)).refine((v) => Object.keys(v).length > 0, 'an axis needs at least one variant')])),
  /**
   * "plan": each DP cell without its own `dp.noiseMultiplier` gets the smallest σ whose ε after its rounds stays
   * within its `dp.epsilon` (the planner of `tessera privacy plan`), so an ε axis is a privacy–utility study.
   */
  noise: z.enum(['plan', 'as-given']).default('as-given'),
});
export type SweepGrid = z.infer<typeof SweepGrid>;

/** One cell: its label (axis = value, …), the overrides it applies, and a stable id for resuming. */
export interface SweepCell {
  readonly id: string;
  readonly label: string;
  /** The axis values of this cell, by axis name (variant names for variant axes). */
  readonly values: Readonly<Record<string, unknown>>;
  /** The base simulation with this cell's settings and job overrides merged in (seed not set). */
  readonly simulation: SweepSimulation;
}

const SIMULATION_KEYS = new Set(Object.keys(SweepSimulation.shape).filter((k) => k !== 'job'));

/** The directory name of one seed's run inside its cell's directory (simulations/sweep/run.ts runDir). */
export function seedDirName(seed: number | string): string {
  return `seed-${String(seed).replace(/[^A-Za-z0-9_-]+/g, '_')}`;
}

/** Parses a grid file's JSON (TESSERA_ERR_SWEEP_GRID naming the offending key). */
export function parseGrid(raw: unknown, where: string): SweepGrid {
  const r = SweepGrid.safeParse(raw);
  if (!r.success) throw new TesseraError('TESSERA_ERR_SWEEP_GRID', `${where}: ${describeZodIssues(r.error.issues)}`);
  for (const axis of Object.keys(r.data.axes)) {
    if (Array.isArray(r.data.axes[axis])) checkPath(axis, where);
  }
  // Two seeds in one directory would be two runs writing the same files (at the same time under --parallel), and
  // one done.json standing for both: 1 and "1", or "a b" and "a_b".
  const seen = new Map<string, number | string>();
  for (const seed of r.data.seeds) {
    const dir = seedDirName(seed);
    const other = seen.get(dir);
    if (other !== undefined) throw new TesseraError('TESSERA_ERR_SWEEP_GRID', `${where}: seeds ${JSON.stringify(other)} and ${JSON.stringify(seed)} would share the output directory ${dir}; list each seed once`);
    seen.set(dir, seed);
  }
  return r.data;
}

/** A path axis must name a job-spec field (or a simulation setting); a typo is named with its nearest key. */
function checkPath(path: string, where: string): void {
  const parts = path.split('.');
  if (parts.length === 1 && SIMULATION_KEYS.has(path)) return;
  for (let i = 0; i < parts.length; i++) {
    const key = parts[i] ?? '';
    const valid = keysAt(JobSpec, parts.slice(0, i));
    if (valid.length === 0) return; // a record or free-form section: any key
    if (!valid.includes(key)) {
      const near = nearestKey(key, parts.slice(0, i));
      throw new TesseraError('TESSERA_ERR_SWEEP_GRID', `${where}: axis "${path}" names no job-spec field ("${key}" is not a key of ${i === 0 ? 'the job spec' : parts.slice(0, i).join('.')}${near?.close ? `; did you mean "${near.key}"?` : ''})`);
    }
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Merges `override` into `base` recursively; `null` removes a key. */
function merge(base: Record<string, unknown>, override: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(override)) {
    if (v === null) delete out[k];
    else out[k] = isObject(out[k]) && isObject(v) ? merge(out[k], v) : v;
  }
  return out;
}

function atPath(path: string, value: unknown): Record<string, unknown> {
  return path
    .split('.')
    .reverse()
    .reduce<unknown>((inner, key) => ({ [key]: inner }), value) as Record<string, unknown>;
}

function show(v: unknown): string {
  return v === null ? 'default' : typeof v === 'string' ? v : JSON.stringify(v);
}

/** The cells of the grid, in axis order (the last axis varies fastest). */
export function gridCells(grid: SweepGrid): SweepCell[] {
  type Choice = { axis: string; name: string; value: unknown; apply: (s: Record<string, unknown>) => Record<string, unknown> };
  const axes: Choice[][] = Object.entries(grid.axes).map(([axis, values]) =>
    Array.isArray(values)
      ? values.map((value) => ({
          axis,
          name: show(value),
          value,
          apply: (s) => (!axis.includes('.') && SIMULATION_KEYS.has(axis) ? merge(s, { [axis]: value }) : merge(s, { job: merge(isObject(s.job) ? s.job : {}, atPath(axis, value)) })),
        }))
      : Object.entries(values).map(([name, fragment]) => ({ axis, name, value: name, apply: (s) => merge(s, { job: merge(isObject(s.job) ? s.job : {}, fragment) }) })),
  );
  let combos: Choice[][] = [[]];
  for (const axis of axes) combos = combos.flatMap((c) => axis.map((choice) => [...c, choice]));
  const cells = combos.map((choices) => {
    const merged = choices.reduce((s, c) => c.apply(s), grid.simulation as Record<string, unknown>);
    const parsed = SweepSimulation.safeParse(merged);
    // Path axes read "dp.epsilon = 1"; named variants "privacy: ε = 1".
    const label = choices.map((c) => (Array.isArray(grid.axes[c.axis]) ? `${c.axis} = ${c.name}` : `${c.axis}: ${c.name}`)).join(', ') || 'base';
    if (!parsed.success) throw new TesseraError('TESSERA_ERR_SWEEP_GRID', `cell ${label}: ${describeZodIssues(parsed.error.issues)}`);
    // Stable across runs and grid edits that leave this cell alone: what it runs, not where it sits in the grid.
    const id = `cell-${canonicalHash(JSON.parse(JSON.stringify({ simulation: parsed.data, noise: grid.noise }))).slice(0, 12)}`;
    return { id, label, values: Object.fromEntries(choices.map((c) => [c.axis, c.value])), simulation: parsed.data };
  });
  // Two cells that run the same simulation share one directory (the id is what the cell runs): their runs would
  // write the same files, and the table would count one simulation twice.
  const byId = new Map<string, SweepCell>();
  for (const cell of cells) {
    const other = byId.get(cell.id);
    if (other) throw new TesseraError('TESSERA_ERR_SWEEP_GRID', `cells ${other.label} and ${cell.label} run the same simulation (${cell.id}); give each axis distinct values`);
    byId.set(cell.id, cell);
  }
  return cells;
}
