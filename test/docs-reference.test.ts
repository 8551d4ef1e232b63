/**
 * The generated references (docs/reference/job-spec.md, error-codes.md) are current: the test fails when a job
 * spec field or an error code changed without `npx tsx scripts/docs-reference.ts` being run.
 */
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../protocol/errors.ts';
import { JobSpec } from '../protocol/job/spec.ts';
import { DpSection } from '../protocol/job/dp.ts';
import { generatedReferences, staleReferences } from '../scripts/docs-reference.ts';

describe('generated references', () => {
  it('the checked-in files are what scripts/docs-reference.ts writes (run it after changing protocol/job or protocol/errors.ts)', () => {
    expect(staleReferences()).toEqual([]);
  });

  it('name every top-level job-spec field, every dp field and every error code', () => {
    const refs = generatedReferences();
    const jobSpec = refs.get('docs/reference/job-spec.md') ?? '';
    for (const key of Object.keys(JobSpec.shape)) expect(jobSpec).toContain(`| \`${key}\` |`);
    for (const key of Object.keys(DpSection.shape)) expect(jobSpec).toContain(`| \`${key}\` |`);
    const errors = refs.get('docs/reference/error-codes.md') ?? '';
    for (const code of Object.keys(ERROR_CODES)) expect(errors).toContain(`| \`${code}\` |`);
  });

  it('carries the meanings written in the schema files (doc comments are read from the source)', () => {
    const jobSpec = generatedReferences().get('docs/reference/job-spec.md') ?? '';
    expect(jobSpec).toContain('| `purpose` | string non-empty | `"research"` | What the model is for; organisations\' consent must cover it. |');
    expect(jobSpec).toContain('Each eligible client joins independently with probability `rate`');
  });
});
