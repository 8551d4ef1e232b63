/**
 * Which shell blocks each docs-shell-*.test.ts file runs. A page runs as one session (its blocks in order, in
 * one directory); a long page may be cut into parts by its `## ` sections, each part a session of its own in
 * its own test file, so the files run in parallel and each stays near a minute. test/docs-examples.test.ts
 * checks that every shell block of every page belongs to exactly one part.
 */
export interface PagePart {
  readonly file: string;
  /** `## ` headings whose blocks this part runs; absent = the whole page. */
  readonly sections?: readonly string[];
}

export const PAGE_PARTS = {
  readme: [{ file: 'README.md' }, { file: 'docs/data-contracts.md' }],
  'privacy-officer': [{ file: 'docs/privacy-officer.md' }],
  'ml-lead': [{ file: 'docs/ml-lead.md' }],
  operator: [{ file: 'docs/operator.md' }],
  'client-policy': [{ file: 'docs/client-policy.md' }],
  'privacy-accounting': [{ file: 'docs/privacy-accounting.md' }],
  'governance-integrity': [{ file: 'docs/governance-integrity.md' }],
  access: [{ file: 'docs/access.md' }],
  console: [{ file: 'docs/console.md' }],
  'bring-your-own': [{ file: 'docs/bring-your-own.md' }],
  'after-deployment-review': [{ file: 'docs/after-deployment-review.md' }],
  'after-deployment': [{ file: 'docs/after-deployment.md' }],
  'researcher-simulations': [{ file: 'docs/researcher.md', sections: ['Simulations', 'Differential privacy in simulations'] }],
  'researcher-sweeps': [{ file: 'docs/researcher.md', sections: ['Baselines, sweeps and reports'] }],
  'researcher-secagg-fairness': [{ file: 'docs/researcher.md', sections: ['Secure aggregation in simulations', 'Fairness', 'Benchmarks'] }],
  'researcher-strategies': [{ file: 'docs/researcher.md', sections: ['Strategies and faults'] }],
} as const satisfies Record<string, readonly PagePart[]>;

export type PagePartName = keyof typeof PAGE_PARTS;

export function partHolds(part: PagePart, block: { file: string; section: string }): boolean {
  return part.file === block.file && (part.sections === undefined || part.sections.includes(block.section));
}
