/**
 * Fairness: the public API in one import. Pure (no storage, no I/O), so client nodes can use it.
 * - layout.ts / counts.ts: the fixed-layout integer count vector of one evaluation, its sum and decoding
 * - holdout.ts: each client's deterministic, stratified held-out split
 * - metrics.ts / wilson.ts: per-group metrics with Wilson intervals and Fairlearn-style disparities
 * - policy.ts: the report, its policy verdict and its RFC 8785 hash
 * - reweighing.ts: Kamiran & Calders (2012) reweighing, client-side
 * - report-markdown.ts / over-rounds.ts: tables and chart series for reports
 * - predictions-file.ts: the audit of a predictions table (`tessera fairness`)
 */
export * from './layout.ts';
export * from './counts.ts';
export * from './holdout.ts';
export * from './wilson.ts';
export * from './metrics.ts';
export * from './policy.ts';
export * from './reweighing.ts';
export * from './report-markdown.ts';
export * from './over-rounds.ts';
export * from './predictions-file.ts';
