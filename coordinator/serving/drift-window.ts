/**
 * Served-input drift (issue 20 §2): the last `size` served rows of each version, per column, against the
 * training reference in the version's data contract — by the contract's own drift definition
 * (governance/contract/drift.ts `columnDrift`: PSI over the reference bins or categories, KS against the reference
 * CDF, each column's thresholds), the same statistics a client's data check computes before training.
 *
 * Recomputed every `every` rows once the window holds `minRows`; a sliding window (not all traffic since start)
 * so that a shift shows within one window's worth of requests and an old shift ages out. Rows are the typed
 * values of validated instances and live only in memory; what is kept is the statistics (store.ts).
 */
import type { ParsedRow } from '../../governance/contract/columns.ts';
import { valueKey } from '../../governance/contract/columns.ts';
import type { CompiledContract } from '../../governance/contract/compile.ts';
import { columnDrift, type DriftResult } from '../../governance/contract/drift.ts';

export interface DriftWindowOptions {
  /** Rows per window (default 1000). */
  readonly size?: number;
  /** Rows before the first statistics (default 200: fewer give PSI bins too sparse to mean much). */
  readonly minRows?: number;
  /** Recompute after this many new rows (default 100). */
  readonly every?: number;
}

interface Window {
  readonly rows: ParsedRow[];
  next: number;
  sinceCompute: number;
}

export class DriftWindows {
  private readonly windows = new Map<string, Window>();
  private readonly size: number;
  private readonly minRows: number;
  private readonly every: number;

  constructor(options: DriftWindowOptions = {}) {
    this.size = options.size ?? 1000;
    this.minRows = Math.min(options.minRows ?? 200, this.size);
    this.every = options.every ?? 100;
  }

  /** Adds served rows of `version`; returns fresh drift results when it is time to recompute, else null. */
  add(version: string, contract: CompiledContract, rows: readonly ParsedRow[]): DriftResult[] | null {
    let w = this.windows.get(version);
    if (w === undefined) {
      w = { rows: [], next: 0, sinceCompute: 0 };
      this.windows.set(version, w);
    }
    for (const r of rows) {
      if (w.rows.length < this.size) w.rows.push(r);
      else w.rows[w.next] = r;
      w.next = (w.next + 1) % this.size;
    }
    w.sinceCompute += rows.length;
    if (w.rows.length < this.minRows || w.sinceCompute < this.every) return null;
    w.sinceCompute = 0;
    return this.compute(w, contract);
  }

  /** Forgets versions no longer served. */
  retain(versions: ReadonlySet<string>): void {
    for (const v of this.windows.keys()) if (!versions.has(v)) this.windows.delete(v);
  }

  private compute(w: Window, contract: CompiledContract): DriftResult[] {
    const out: DriftResult[] = [];
    for (const col of contract.columns) {
      if (col.isLabel) continue;
      const name = col.spec.name;
      const numbers: number[] = [];
      const counts = new Map<string, number>();
      for (const r of w.rows) {
        const v = r[name];
        if (v === null || v === undefined) continue;
        if (col.numeric && typeof v === 'number') numbers.push(v);
        else counts.set(valueKey(v), (counts.get(valueKey(v)) ?? 0) + 1);
      }
      out.push(...columnDrift(contract.contract, col, { sorted: Float64Array.from(numbers).sort(), counts }));
    }
    return out;
  }
}
