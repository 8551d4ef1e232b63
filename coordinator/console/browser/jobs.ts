/// <reference lib="dom" />
/** The job a page shows: `?job=ID`, else the running job, else the one submitted last. */
import type { JobsResponse } from '../../../protocol/api.ts';
import type { JobSeries } from '../schemas.ts';
import { getJson } from './api.ts';
import { el } from './dom.ts';

export type JobSummary = JobsResponse['jobs'][number];

export async function jobs(): Promise<JobSummary[]> {
  return (await getJson<JobsResponse>('/v1/jobs')).jobs;
}

export function pickJob(list: readonly JobSummary[], params: URLSearchParams): JobSummary | undefined {
  const wanted = params.get('job');
  if (wanted !== null) return list.find((j) => j.jobId === wanted);
  return list.find((j) => j.state === 'running') ?? list[list.length - 1];
}

export async function series(jobId: string): Promise<JobSeries> {
  return getJson<JobSeries>(`/v1/jobs/${encodeURIComponent(jobId)}/series`);
}

/** Links to the same page for each job (the chosen one marked). */
export function jobPicker(list: readonly JobSummary[], chosen: JobSummary | undefined): HTMLElement {
  const page = location.pathname;
  return el('nav', { class: 'jobs' }, 'Job: ', ...list.map((j) => el('a', { href: `${page}?job=${encodeURIComponent(j.jobId)}`, ...(j.jobId === chosen?.jobId ? { class: 'current' } : {}) }, j.name)));
}
