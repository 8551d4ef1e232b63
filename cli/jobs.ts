/**
 * `tessera jobs`: the coordinator service's jobs (issue 15). `submit|list|show|cancel` talk to a running
 * coordinator's API (coordinator/job-routes.ts) with an operator token (`tessera tokens create`); `check` runs the
 * preflight locally (coordinator/preflight.ts) — the same check submission runs; `schema` prints the job spec's
 * JSON Schema, generated from the zod schema.
 */
import type { Command } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { TesseraError } from '../protocol/errors.ts';
import { action, printJson, printLine, readJsonFile } from './run.ts';

interface ApiFlags {
  coordinator: string;
  ca?: string;
  token?: string;
  json?: boolean;
  all?: boolean;
}

const DEFAULT_COORDINATOR = 'http://127.0.0.1:8740';

function tokenOf(o: ApiFlags): string {
  const token = o.token ?? process.env.TESSERA_TOKEN;
  if (token === undefined || token === '') throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', 'give an operator token: --token TOKEN or TESSERA_TOKEN (tessera tokens create --state DIR --name NAME --role operator)');
  return token;
}

/** One request to the coordinator's job API; a coded error answer becomes the same TesseraError here. */
async function call<T>(o: ApiFlags, method: 'GET' | 'POST', path: string, schema: z.ZodType<T>, body?: unknown): Promise<T> {
  const { readCa, requestCoordinator } = await import('./coordinator-http.ts');
  const ca = readCa(o.ca);
  const res = await requestCoordinator({
    method,
    url: `${o.coordinator.replace(/\/$/, '')}${path}`,
    headers: { authorization: `Bearer ${tokenOf(o)}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    ...(ca !== undefined ? { ca } : {}),
  });
  if (res.status < 200 || res.status >= 300) {
    const { ApiError } = await import('../protocol/api.ts');
    const e = ApiError.safeParse(res.json);
    throw new TesseraError(e.success ? e.data.error.code : 'TESSERA_ERR_INTERNAL', e.success ? e.data.error.message : `HTTP ${res.status}`);
  }
  return schema.parse(res.json);
}

function apiOptions(c: Command): Command {
  return c
    .option('--coordinator <url>', 'the coordinator\'s URL', DEFAULT_COORDINATOR)
    .option('--ca <file>', 'PEM CA certificate to verify an https:// coordinator with (tessera certs dev writes ca.pem); no NODE_EXTRA_CA_CERTS needed')
    .option('--token <token>', 'operator API token (default: $TESSERA_TOKEN)')
    .option('--json', 'print one JSON document');
}

export function registerJobs(program: Command): void {
  const jobs = program.command('jobs').description('Jobs on a running coordinator (submit, list, show, cancel), the preflight check of a job spec, and the spec\'s JSON Schema.');

  apiOptions(jobs.command('submit <file>').description('Submit a job spec to the coordinator: it is preflighted, queued and run after the jobs before it (exit 1 when it fails at submission).'))
    .option('--fresh', 'start the job over instead of resuming it (refused once its privacy budget is partly spent)')
    .option('--wait', 'wait until the job ends; exit 0 when it completed, 1 when it failed or was cancelled')
    .action(
      action(async (file: string, o: ApiFlags & { fresh?: boolean; wait?: boolean }) => {
        const { HostedJobView } = await import('../protocol/api.ts');
        let view = await call(o, 'POST', '/v1/jobs', HostedJobView, { spec: readJsonFile(file, 'job spec'), ...(o.fresh === true ? { fresh: true } : {}) });
        if (o.wait === true) {
          // Polls once a second: a job's end is an operator-scale event, not a latency-critical one.
          while (view.state === 'queued' || view.state === 'running') {
            await new Promise((r) => setTimeout(r, 1000));
            view = await call(o, 'GET', `/v1/jobs/${encodeURIComponent(view.jobId)}`, HostedJobView);
          }
        }
        if (o.json) printJson(view);
        else {
          const { formatJob } = await import('./jobs-format.ts');
          printLine(formatJob(view));
        }
        return view.state === 'failed' || view.state === 'cancelled' ? 1 : 0;
      }),
    );

  apiOptions(jobs.command('list').description('List the coordinator\'s jobs, newest last (the last 20 unless --all).'))
    .option('--all', 'every job, not only the last 20')
    .action(
      action(async (o: ApiFlags) => {
        const { JobsResponse } = await import('../protocol/api.ts');
        const { jobs: list } = await call(o, 'GET', '/v1/jobs', JobsResponse);
        const shown = o.all === true ? list : list.slice(-20);
        if (o.json) return printJson({ jobs: shown, total: list.length });
        const { formatJobLine } = await import('./jobs-format.ts');
        for (const j of shown) printLine(formatJobLine(j));
        if (shown.length < list.length) printLine(`(${list.length - shown.length} earlier job(s) not shown; --all lists every job)`);
      }),
    );

  apiOptions(jobs.command('show <id>').description('One job: its state and reason, preflight findings, and a summary of its rounds (--all: every round and every per-client reason).'))
    .option('--all', 'every round and every per-client reason')
    .action(
      action(async (id: string, o: ApiFlags) => {
        const { JobDetail } = await import('../coordinator/job-routes.ts');
        const job = await call(o, 'GET', `/v1/jobs/${encodeURIComponent(id)}`, JobDetail);
        if (o.json) return printJson(job);
        const { formatJobDetail } = await import('./jobs-format.ts');
        for (const line of formatJobDetail(job, o.all === true)) printLine(line);
        return job.state === 'failed' ? 1 : 0;
      }),
    );

  apiOptions(jobs.command('cancel <id>').description('Cancel a job: a queued one at once, a running one at its next round boundary.')).action(
    action(async (id: string, o: ApiFlags) => {
      const { HostedJobView } = await import('../protocol/api.ts');
      const view = await call(o, 'POST', `/v1/jobs/${encodeURIComponent(id)}/cancel`, HostedJobView);
      if (o.json) return printJson(view);
      printLine(view.state === 'running' ? `cancelling ${view.jobId}: it stops at its next round boundary` : `${view.jobId}: ${view.state}`);
    }),
  );

  jobs
    .command('check <file>')
    .description('Preflight a job spec: strict schema, DP and secure aggregation, the minimum n, the roster, consent per organisation, budget and caps; each finding with its fix (exit 1 on any error).')
    .option('--state <dir>', 'the coordinator\'s state directory (consent, ledger; the roster at <state>/secagg-identities.json)')
    .option('--roster <file>', 'consortium roster (tessera keys roster)')
    .option('--json', 'print one JSON document')
    .action(
      action(async (file: string, o: { state?: string; roster?: string; json?: boolean }) => {
        const raw = readJsonFile(file, 'job spec');
        const { preflight, formatFinding } = await import('../coordinator/preflight.ts');
        const { ClientRosterDocument } = await import('../governance/identity/client-roster.ts');
        const rosterPath = o.roster ?? (o.state !== undefined ? join(o.state, 'secagg-identities.json') : undefined);
        const roster =
          rosterPath === undefined
            ? undefined
            : { document: existsSync(rosterPath) ? ClientRosterDocument.parse(JSON.parse(readFileSync(rosterPath, 'utf8'))) : null, where: rosterPath };
        let db;
        if (o.state !== undefined) {
          const { openDatabase } = await import('../governance/state/database.ts');
          db = openDatabase(o.state);
        }
        try {
          const report = preflight(raw, { ...(db ? { db } : {}), ...(roster ? { roster } : {}) });
          if (o.json) printJson({ ok: report.ok, jobId: report.jobId, findings: report.findings });
          else {
            for (const f of report.findings) printLine(formatFinding(f));
            const errors = report.findings.filter((f) => f.level === 'error').length;
            printLine(report.ok ? `ok: ${report.jobId ?? ''} passes the preflight (${report.findings.length} warning(s))` : `FAILED: ${errors} error(s), ${report.findings.length - errors} warning(s)`);
          }
          return report.ok ? 0 : 1;
        } finally {
          db?.close();
        }
      }),
    );

  jobs
    .command('schema')
    .description('Print the job spec\'s JSON Schema (draft 2020-12), generated from the zod schema: what a job file may contain, strictly.')
    .action(
      action(async () => {
        const { StrictJobSpec } = await import('../protocol/job/strict.ts');
        printJson(z.toJSONSchema(StrictJobSpec, { io: 'input', unrepresentable: 'any' }));
      }),
    );
}
