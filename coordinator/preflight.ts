/**
 * Preflight (issue 15 §2): everything knowable about a job before its first round, checked at once, each
 * finding with its fix. `tessera jobs check` prints it; the job service runs it at submission, and a job with an
 * error finding fails there — before any ledger budget, job round or audit entry exists.
 * Checks, in order: the strict schema (an unknown key is named with the nearest valid key), DP ↔ secure
 * aggregation (the DP plan both sides derive, privacy/dp/config.ts), the fewest clients the secure-aggregation
 * parameters allow (the finder, privacy/secagg/params.ts), the roster (present, enough organisations), consent
 * coverage per organisation (the consent feature's own query), and the privacy budget and organisation caps
 * (the ledger's own planRound), and the strategy against secure aggregation and DP (strategy-compat.ts: a robust
 * aggregator needs individual updates). Warnings name what the clients' default policy (client/policy) would decline.
 */
import type { Db } from '../governance/state/database.ts';
import { clientRoster, type ClientRoster, type ClientRosterDocument } from '../governance/identity/client-roster.ts';
import { eligibleOrganisations } from '../governance/consent/store.ts';
import { jobEpsilon } from '../governance/consent/terms.ts';
import { getJobBudget, getOrgCaps, orgTotal, planRound } from '../governance/ledger/index.ts';
import { dpPlanForJob } from '../privacy/dp/config.ts';
import { DEFAULT_SECAGG_CLIENT_POLICY } from '../privacy/secagg/client-policy.ts';
import { checkSecAggParams, findSecAggParams, MAX_SECAGG_CLIENTS } from '../privacy/secagg/params.ts';
import { isTesseraError } from '../protocol/errors.ts';
import { JobSpec } from '../protocol/job/spec.ts';
import { SUPPORTED_LAYERS, readUserModel } from '../protocol/job/layers-topology.ts';
import { StrictJobSpec, nearestKey } from '../protocol/job/strict.ts';
import { groupReasons } from './shortfall.ts';
import { stableJobId } from './state/resume.ts';
import { strategyConflicts } from './strategy-compat.ts';

export interface Finding {
  readonly level: 'error' | 'warning';
  /** A TESSERA_ERR_… code, or a consent code (CONSENT_MISSING …) for a per-organisation finding. */
  readonly code: string;
  /** Where in the spec or the set-up (a spec path, `roster`, `consent`, `ledger`). */
  readonly where: string;
  readonly message: string;
  readonly fix: string;
}

export interface PreflightContext {
  /** The coordinator's state database (consent, ledger); without it those checks are skipped with a warning. */
  readonly db?: Db;
  /** The consortium roster, or null when none was found (`where` names the path looked at). */
  readonly roster?: { readonly document: ClientRosterDocument | null; readonly where: string };
  readonly at?: Date;
}

export interface PreflightReport {
  readonly ok: boolean;
  /** The parsed spec (the lenient parse when only unknown keys were wrong), null when it does not parse. */
  readonly spec: JobSpec | null;
  readonly jobId: string | null;
  readonly findings: readonly Finding[];
}

/** Keys people have written for a field that has another name (docs' history, issue 15). */
const RENAMED: Readonly<Record<string, string>> = { 'fairness.rules': 'policy' };

function schemaFindings(raw: unknown): Finding[] {
  const r = StrictJobSpec.safeParse(raw);
  if (r.success) return [];
  return r.error.issues.flatMap((i): Finding[] => {
    const at = i.path.map(String).join('.');
    if (i.code === 'unrecognized_keys') {
      return i.keys.map((key) => {
        const full = at ? `${at}.${key}` : key;
        const near = RENAMED[full] !== undefined ? { key: RENAMED[full], close: true } : nearestKey(key, i.path);
        const hint = near === null ? '' : near.close ? `; did you mean "${near.key}"?` : `; the nearest valid key is "${near.key}"`;
        return { level: 'error', code: 'TESSERA_ERR_INVALID_JOB_SPEC', where: full, message: `unknown key "${full}"${hint}`, fix: near ? `rename it to "${at ? `${at}.` : ''}${near.key}" or remove it (tessera jobs schema lists every field)` : 'remove it (tessera jobs schema lists every field)' };
      });
    }
    return [{ level: 'error', code: 'TESSERA_ERR_INVALID_JOB_SPEC', where: at || '(root)', message: i.message, fix: 'see docs/reference/job-spec.md for the field' }];
  });
}

/**
 * `population`: the roster's organisations, when known. minClients is a floor, not the round's size (a round has
 * as many clients as were sampled), so a minClients too small for the parameters is a warning — rounds that
 * small abort — and an error only when even a round of the whole population has no safe parameters.
 */
function secAggFindings(spec: JobSpec, population: number | undefined): Finding[] {
  if (!spec.secagg.enabled) {
    return [{ level: 'warning', code: 'TESSERA_ERR_POLICY_SECAGG_REQUIRED', where: 'secagg.enabled', message: "secure aggregation is off: client nodes under the default policy decline the job", fix: 'set "secagg": {"enabled": true, "weighting": "uniform"}, unless every organisation\'s policy allows plain updates' }];
  }
  const out: Finding[] = [];
  const n = spec.minClients;
  const s = spec.secagg;
  const works = (clients: number): boolean => {
    try {
      if (s.degree !== undefined && s.threshold !== undefined) checkSecAggParams({ clients, k: s.degree, t: s.threshold });
      else findSecAggParams({ clients, dropoutRate: s.dropoutRate, corruptRate: s.corruptRate, threatModel: s.threatModel });
      return true;
    } catch (e) {
      if (isTesseraError(e)) return false;
      throw e;
    }
  };
  if (!works(n)) {
    let least = n + 1;
    while (least <= Math.min(MAX_SECAGG_CLIENTS, n + 500) && !works(least)) least++;
    const found = works(least);
    const fatal = !found || (population !== undefined && population < least);
    const fix = found ? `raise minClients to at least ${least}${fatal ? ` and admit at least ${least} organisations` : ''}` : 'lower secagg.dropoutRate or secagg.corruptRate, or unpin secagg.degree/threshold';
    const scope = fatal ? (found ? `; the roster's ${population ?? 0} organisation(s) can never make a round of ${least}` : ' or any larger round') : `; a round that samples fewer than ${least} clients aborts (under DP the job then ends)`;
    out.push({ level: fatal ? 'error' : 'warning', code: 'TESSERA_ERR_SECAGG_PARAMS', where: 'minClients', message: `secure aggregation (${s.threatModel}, dropout ${s.dropoutRate}, corrupt ${s.corruptRate}) has no safe parameters for a round of ${n} client(s)${scope}`, fix });
  }
  if (n < DEFAULT_SECAGG_CLIENT_POLICY.minClients) {
    out.push({ level: 'warning', code: 'TESSERA_ERR_SECAGG_POLICY', where: 'minClients', message: `minClients = ${n}: client nodes under the default policy decline secure-aggregation rounds of fewer than ${DEFAULT_SECAGG_CLIENT_POLICY.minClients} clients`, fix: `raise minClients to ${DEFAULT_SECAGG_CLIENT_POLICY.minClients}` });
  }
  return out;
}

function dpFindings(spec: JobSpec, population: number | undefined, db: Db | undefined): Finding[] {
  if (!spec.dp.enabled) {
    return [{ level: 'warning', code: 'TESSERA_ERR_POLICY_DP_REQUIRED', where: 'dp.enabled', message: 'differential privacy is off: client nodes under the default policy decline the job, and no consent can cover it', fix: 'turn dp on with a budget (dp.epsilon) and a noise multiplier' }];
  }
  const out: Finding[] = [];
  try {
    dpPlanForJob(spec, population ?? 100);
  } catch (e) {
    if (!isTesseraError(e)) throw e;
    const fix = /weighting/.test(e.message) ? 'set secagg.weighting to "uniform"' : 'change the dp section as the message says';
    out.push({ level: 'error', code: e.code, where: 'dp', message: e.message, fix });
  }
  // The default client policy requires evaluation noise with DP (client/policy/rules.ts, dp.requireEvaluationNoise):
  // without it every default-policy node declines the job's evaluations, and the registry and gate get no figures.
  if (spec.evaluation.noise === undefined) {
    out.push({
      level: 'warning',
      code: 'TESSERA_ERR_POLICY_EVALUATION_NOISE',
      where: 'evaluation.noise',
      message: 'the job trains with differential privacy but its evaluation sums carry no noise: client nodes under the default policy decline its federated evaluations, so the registry and the deployment gate get no held-out figures (nor a previous-production baseline)',
      fix: 'add "evaluation": {"noise": {"noiseMultiplier": 1, "maxExamplesPerClient": 200}} (each release is charged to the budget; needs secure aggregation and the RDP accountant), unless every organisation\'s policy sets dp.requireEvaluationNoise to false',
    });
  }
  if (db === undefined) out.push({ level: 'warning', code: 'TESSERA_ERR_DP_CONFIG', where: 'state', message: 'a differentially private job needs the coordinator\'s durable state (its ledger); not checked without --state', fix: 'check with --state DIR, the coordinator\'s state directory' });
  return out;
}

interface RosterOrgs {
  readonly orgs: readonly string[];
  readonly findings: readonly Finding[];
}

function rosterFindings(spec: JobSpec, roster: PreflightContext['roster']): RosterOrgs {
  if (roster === undefined) return { orgs: [], findings: [] };
  if (roster.document === null) {
    return { orgs: [], findings: [{ level: 'error', code: 'TESSERA_ERR_INVALID_ARGUMENT', where: 'roster', message: `no consortium roster at ${roster.where}: no client can connect, and secure aggregation has no keys`, fix: 'make it with tessera keys roster and give --roster FILE (or put it at <state>/secagg-identities.json)' }] };
  }
  const unnamed = roster.document.clients.filter((c) => c.orgId === undefined).map((c) => c.clientId);
  const orgs = [...new Set(roster.document.clients.flatMap((c) => (c.orgId === undefined ? [] : [c.orgId])))].sort();
  const findings: Finding[] = [];
  if (unnamed.length > 0) findings.push({ level: 'warning', code: 'TESSERA_ERR_AUTH_FAILED', where: 'roster', message: `roster entries without an organisation cannot connect: ${unnamed.join(', ')}`, fix: 'rebuild the roster with --org for each client (tessera keys roster)' });
  if (orgs.length < spec.minClients) {
    findings.push({ level: 'error', code: 'TESSERA_ERR_TOO_FEW_CLIENTS', where: 'roster', message: `the roster admits ${orgs.length} organisation(s) (${orgs.join(', ') || 'none'}); the job needs ${spec.minClients} per round`, fix: `add organisations to the roster or lower minClients to ${Math.max(1, orgs.length)}` });
  }
  return { orgs, findings };
}

/**
 * With a roster (every real coordinator) consent counts only when the organisation's roster key signed it, as the
 * round loop's consent feature counts it (issue 12 §6): the preflight must not pass a job on operator-entered
 * consent that every round would then exclude.
 */
function consentFindings(spec: JobSpec, db: Db, orgs: readonly string[], at: Date, roster: ClientRoster | undefined): Finding[] {
  if (!spec.consent.required) return [];
  const e = eligibleOrganisations(db, { purpose: spec.purpose, at, epsilonNeeded: jobEpsilon(spec), dataset: spec.data.dataset, ...(roster ? { roster } : {}) });
  const covered = new Set(e.eligible);
  const why = new Map(e.excluded.map((x) => [x.organisation, x]));
  const terms = `--dataset ${spec.data.dataset} --purposes ${spec.purpose} --expires DATE --max-epsilon ${Number.isFinite(jobEpsilon(spec)) ? jobEpsilon(spec) : 'E'} --retention DAYS`;
  const fixFor = (code: string, org: string): string => {
    if (code === 'CONSENT_MISSING' || code === 'CONSENT_UNSIGNED') {
      return roster ? `${org} signs: tessera consent sign --org ${org} --client CLIENT --key KEY ${terms} --out FILE; then tessera consent record --state DIR --file FILE --roster ROSTER` : `tessera consent grant --state DIR --org ${org} ${terms}`;
    }
    return 'record consent that covers the job, or change the job to fit the consent';
  };
  const missing = orgs.filter((o) => !covered.has(o)).map((o) => ({ clientId: o, orgId: o, code: why.get(o)?.code ?? 'CONSENT_MISSING', reason: why.get(o)?.reason ?? `no consent of '${o}' is recorded for data set '${spec.data.dataset}'` }));
  if (missing.length === 0) return [];
  const enough = orgs.length - missing.length >= spec.minClients;
  const perOrg: Finding[] = missing.map((m) => ({ level: enough ? 'warning' : 'error', code: m.code, where: `consent.${m.orgId}`, message: `${m.orgId}: ${m.reason}`, fix: fixFor(m.code, m.orgId) }));
  return [
    { level: enough ? 'warning' : 'error', code: 'TESSERA_ERR_CONSENT', where: 'consent', message: `consent covers ${orgs.length - missing.length} of ${orgs.length} organisation(s), the job needs ${spec.minClients}: ${groupReasons(missing).join(', ')}`, fix: 'record each organisation\'s consent for the job\'s purpose, data set and ε' },
    ...perOrg,
  ];
}

function ledgerFindings(spec: JobSpec, jobId: string, db: Db, orgs: readonly string[]): Finding[] {
  if (!spec.dp.enabled) return [];
  let plan;
  try {
    plan = dpPlanForJob(spec, Math.max(orgs.length, 1));
  } catch {
    return []; // reported by dpFindings
  }
  const next = { samplingRate: plan.samplingRate, noiseMultiplier: plan.accountedNoiseMultiplier };
  if (getJobBudget(db, jobId) !== undefined) {
    const p = planRound(db, { jobId, next, orgIds: orgs });
    if (!p.allowed) return [{ level: 'error', code: 'TESSERA_ERR_BUDGET_EXCEEDED', where: 'ledger', message: `job ${jobId} has spent its privacy budget: ${p.reason}`, fix: 'a privacy officer may raise it (tessera ledger budget change), or run the job under a new name' }];
    const capped = p.excluded.map((o) => o.orgId);
    if (capped.length === 0) return [];
    return [{ level: orgs.length - capped.length < spec.minClients ? 'error' : 'warning', code: 'TESSERA_ERR_BUDGET_EXCEEDED', where: 'ledger', message: `organisation cap reached for: ${capped.join(', ')}`, fix: 'a privacy officer may raise the caps, or the job runs without them' }];
  }
  const caps = getOrgCaps(db);
  const spent = orgs.filter((o) => {
    const cap = caps.get(o);
    return cap !== undefined && orgTotal(db, o).totalEpsilon >= cap;
  });
  if (spent.length === 0) return [];
  return [{ level: orgs.length - spent.length < spec.minClients ? 'error' : 'warning', code: 'TESSERA_ERR_BUDGET_EXCEEDED', where: 'ledger', message: `organisation cap already reached for: ${spent.join(', ')}`, fix: 'a privacy officer may raise the caps, or the job runs without them' }];
}

/** A user model (model.kind "layers") is read the way every participant will build it: refused here, not in round 1. */
function modelFindings(spec: JobSpec): Finding[] {
  if (spec.model.kind !== 'layers') return [];
  try {
    readUserModel(spec.model.topology, spec.model.classes);
    return [];
  } catch (e) {
    if (!isTesseraError(e)) throw e;
    return [{ level: 'error', code: e.code, where: 'model.topology', message: e.message, fix: `use only ${SUPPORTED_LAYERS.join(', ')} in a Sequential ending in Dense softmax over model.classes (docs/bring-your-own.md)` }];
  }
}

/** Runs every check that applies to what the context holds. */
export function preflight(raw: unknown, context: PreflightContext = {}): PreflightReport {
  const findings: Finding[] = schemaFindings(raw);
  const lenient = JobSpec.safeParse(raw);
  if (!lenient.success) return { ok: false, spec: null, jobId: null, findings };
  const spec = lenient.data;
  const jobId = stableJobId(spec);
  const roster = rosterFindings(spec, context.roster);
  findings.push(...modelFindings(spec));
  findings.push(...strategyConflicts(spec).map((c): Finding => ({ level: 'error', ...c })));
  findings.push(...dpFindings(spec, roster.orgs.length || undefined, context.db), ...secAggFindings(spec, context.roster?.document ? roster.orgs.length : undefined), ...roster.findings);
  if (context.db !== undefined) {
    const signers = context.roster?.document ? clientRoster(context.roster.document) : undefined;
    findings.push(...consentFindings(spec, context.db, roster.orgs, context.at ?? new Date(), signers), ...ledgerFindings(spec, jobId, context.db, roster.orgs));
  } else if (spec.consent.required) {
    findings.push({ level: 'warning', code: 'TESSERA_ERR_CONSENT', where: 'state', message: 'consent coverage, budget and caps are not checked without the coordinator\'s state', fix: 'check with --state DIR' });
  }
  return { ok: !findings.some((f) => f.level === 'error'), spec, jobId, findings };
}

/** One line per finding: `error [CODE] where: message — fix: …`. */
export function formatFinding(f: Finding): string {
  return `${f.level} [${f.code}] ${f.where}: ${f.message}\n    fix: ${f.fix}`;
}
