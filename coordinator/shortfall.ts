/**
 * Why a round could not start or came out short, in one line an operator can act on (issue 15 §3): how many
 * clients were connected and eligible, the reasons grouped by code with the organisations they concern, and
 * advice that matches the cause — "connect more clients" is wrong when three connected clients all lack consent,
 * and "lower minClients" is wrong when the floor comes from secure aggregation or DP.
 * Pure: it formats what the round loop already knows (the eligibility filter's exclusions, decline reasons), and
 * asks the SecAgg parameter finder whether a secure plan could have survived a round's losses.
 */
import type { ThreatModel } from '../privacy/secagg/params.ts';
import { findSecAggParams, worstCounts } from '../privacy/secagg/params.ts';
import type { ExcludedClient } from './round-records.ts';

/** What to do about each exclusion or decline code; codes not listed get the generic advice. */
const ADVICE: ReadonlyArray<{ readonly match: (code: string) => boolean; readonly advice: string }> = [
  { match: (c) => c === 'CONSENT_MISSING', advice: "record each organisation's consent on the coordinator: tessera consent grant --state DIR --org ORG --dataset DATASET --purposes PURPOSE --expires DATE --max-epsilon E --retention DAYS" },
  { match: (c) => c === 'CONSENT_PURPOSE', advice: 'the job\'s purpose is not one the organisations consented to: change the job\'s "purpose" or record consent that covers it' },
  { match: (c) => c === 'CONSENT_EPSILON', advice: 'the job\'s ε exceeds what the organisations consented to: lower dp.epsilon or record consent with a higher cap' },
  { match: (c) => c === 'CONSENT_EXPIRED' || c === 'CONSENT_REVOKED', advice: 'the organisations\' consent expired or was revoked: ask them for a new consent record' },
  { match: (c) => c.startsWith('CONSENT_'), advice: 'check the organisations\' consent records (tessera consent list --state DIR)' },
  { match: (c) => c === 'TESSERA_ERR_BUDGET_EXCEEDED', advice: 'these organisations reached their privacy cap: a privacy officer may raise it (tessera ledger), or the job runs without them' },
  { match: (c) => c === 'DP_DUPLICATE_ORG', advice: 'under DP one client per organisation takes part; connect clients of other organisations' },
  { match: (c) => c.startsWith('TESSERA_ERR_POLICY_') || c === 'TESSERA_ERR_SECAGG_POLICY', advice: "the job breaks the organisations' own client policy: run tessera policy check --job job.json and change the job (not the clients' policy)" },
  { match: (c) => c.startsWith('TESSERA_ERR_CONTRACT_') || c === 'CONTRACT_VIOLATION', advice: "the organisations' data fails the job's data contract: see the decline counts (tessera jobs show ID)" },
  { match: (c) => c === 'TESSERA_ERR_TIMEOUT', advice: 'clients did not answer within roundDeadlineMs: raise it, or check the slow clients' },
];

export function adviceFor(code: string): string {
  return ADVICE.find((a) => a.match(code))?.advice ?? 'see the clients\' logs for the reason';
}

/** `CONSENT_MISSING ×3 (cleveland, hungary, va)` for each code, most frequent first. */
export function groupReasons(excluded: readonly ExcludedClient[]): string[] {
  const byCode = new Map<string, Set<string>>();
  const counts = new Map<string, number>();
  for (const x of excluded) {
    counts.set(x.code, (counts.get(x.code) ?? 0) + 1);
    const orgs = byCode.get(x.code) ?? new Set<string>();
    orgs.add(x.orgId);
    byCode.set(x.code, orgs);
  }
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .map(([code, n]) => `${code} ×${n} (${[...(byCode.get(code) ?? [])].sort().join(', ')})`);
}

function mostFrequentCode(xs: readonly ExcludedClient[]): string | undefined {
  const counts = new Map<string, number>();
  for (const x of xs) counts.set(x.code, (counts.get(x.code) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]?.[0];
}

export interface Shortfall {
  readonly round: number;
  readonly connected: number;
  readonly eligible: number;
  readonly needed: number;
  readonly excluded: readonly ExcludedClient[];
  /** Whether every client the roster admits was connected (so waiting longer could not have helped). */
  readonly everyoneConnected: boolean;
  readonly waitedMs: number;
  /** The roster's size, when known. */
  readonly population?: number;
}

/**
 * `Round 1 cannot start: 3 connected, 0 eligible, 2 needed: CONSENT_MISSING ×3 (cleveland, hungary, va). Fix: …`
 * Advice comes from the most frequent code; with nobody excluded the shortfall is connections.
 */
export function explainShortfall(s: Shortfall): string {
  const head = `Round ${s.round} cannot start (TESSERA_ERR_TOO_FEW_CLIENTS): ${s.connected} connected, ${s.eligible} eligible, ${s.needed} needed`;
  const waited = s.everyoneConnected ? 'every client on the roster is connected' : `after waiting ${Math.round(s.waitedMs / 1000)} s`;
  if (s.excluded.length === 0) {
    if (s.population !== undefined && s.population < s.needed) return `${head}: the roster admits only ${s.population} client(s). Fix: add organisations to the roster (tessera keys roster), or lower minClients.`;
    return `${head} (${waited}). Fix: start more client nodes (every node needs a roster entry), or raise --wait-clients-ms.`;
  }
  return `${head}: ${groupReasons(s.excluded).join(', ')} (${waited}). Fix: ${adviceFor(mostFrequentCode(s.excluded) ?? '')}.`;
}

/** A secure round's plan, for advice when it aborted: how many clients it was planned for, and for how many dropouts. */
export interface SecAggShortfall {
  /** Clients the round's SecAgg plan was made for (the selected clients). */
  readonly selected: number;
  /** The job's finder inputs; absent when the job pins `degree` and `threshold` (no finder ran). */
  readonly finder?: { readonly dropoutRate: number; readonly corruptRate: number; readonly threatModel: ThreatModel };
}

/**
 * The parameter finder plans for at most ⌊dropoutRate · n⌋ dropouts (privacy/secagg/params.ts, worstCounts).
 * Declines count as dropouts: clients whose data fail the contract decline every round, so a small federation
 * where more are gone than that aborts whenever the random neighbour graph leaves a survivor too few live
 * neighbours. The fix is a plan that expects them.
 */
function secAggAdvice(lost: readonly ExcludedClient[], secagg: SecAggShortfall): string | undefined {
  if (!lost.some((x) => x.code === 'TESSERA_ERR_SECAGG_ABORT')) return undefined;
  const gone = lost.filter((x) => x.code !== 'TESSERA_ERR_SECAGG_ABORT').length;
  if (gone === 0) return undefined;
  const n = secagg.selected;
  const head = `secure aggregation aborted: ${gone} of ${n} client(s) declined or dropped`;
  if (secagg.finder === undefined) return `${head}, more than the job's pinned secagg.degree and secagg.threshold survive; unpin them so the parameter finder plans for secagg.dropoutRate`;
  const { dropoutRate, corruptRate, threatModel } = secagg.finder;
  const tolerated = worstCounts({ clients: n, dropoutRate, corruptRate }).D;
  if (gone <= tolerated) return undefined;
  // The smallest rate (in hundredths) whose worst case covers them, if any plan under the job's threat model does.
  const needed = Math.ceil((gone / n) * 100) / 100;
  let plannable = needed < 1;
  try {
    if (plannable) findSecAggParams({ clients: n, dropoutRate: needed, corruptRate, threatModel });
  } catch {
    plannable = false;
  }
  if (!plannable) return `${head}; no ${threatModel} plan over ${n} clients survives that many gone (security needs more survivors), so fix why they declined or add organisations`;
  return `${head}, and the plan tolerates ${tolerated} (secagg.dropoutRate ${dropoutRate}); set secagg.dropoutRate to at least ${needed} (tessera simulate: --secagg-dropout ${needed}), or fix why they declined`;
}

/** After a round that ran short: the per-client reasons of its drops and declines, grouped, with advice. */
export function explainShortRound(round: number, got: number, needed: number, lost: readonly ExcludedClient[], secagg?: SecAggShortfall): string {
  const reasons = groupReasons(lost);
  const topCode = mostFrequentCode(lost);
  const general = topCode !== undefined ? adviceFor(topCode) : 'start more client nodes, or raise the sampling rate';
  const secure = secagg !== undefined ? secAggAdvice(lost, secagg) : undefined;
  const fix = secure !== undefined ? `${secure}. Also: ${general}` : general;
  return `Round ${round}: ${got} client(s) took part, ${needed} needed (TESSERA_ERR_TOO_FEW_CLIENTS)${reasons.length > 0 ? `: ${reasons.join(', ')}` : ''}. Fix: ${fix}.`;
}
