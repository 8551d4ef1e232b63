/**
 * The data-contract outcome recorded in a model's lineage (issue 13 §5), counted from what the clients did
 * in each round rather than assumed from the fact that a contract was named. A client whose data fails the
 * contract declines the round with a contract code and does not train; a client that trained passed its
 * check. Counting from participants and contract declines (not from drift summaries) holds under secure
 * aggregation too, where passing clients send no summary of their own.
 */
export interface RoundContractInput {
  readonly round: number;
  /** Clients that trained this round (each passed its contract check first). */
  readonly participants: number;
  /** Declines with a contract code (TESSERA_ERR_CONTRACT_VIOLATION or TESSERA_ERR_CONTRACT_MISMATCH). */
  readonly contractDeclines: number;
}

export interface ContractRoundCounts {
  readonly round: number;
  readonly checked: number;
  readonly passed: number;
  readonly declined: number;
}

export interface ContractEvidenceCounts {
  /** True only when clients were actually checked and every client that trained passed. */
  readonly passed: boolean;
  readonly violations: number;
  readonly summary: string;
  readonly checked: number;
  readonly passedChecks: number;
  readonly declined: number;
  readonly perRound: ContractRoundCounts[];
}

export function contractEvidenceFromRounds(rounds: readonly RoundContractInput[]): ContractEvidenceCounts {
  const perRound = rounds.map((r) => ({ round: r.round, checked: r.participants + r.contractDeclines, passed: r.participants, declined: r.contractDeclines }));
  const checked = perRound.reduce((s, r) => s + r.checked, 0);
  const passedChecks = perRound.reduce((s, r) => s + r.passed, 0);
  const declined = perRound.reduce((s, r) => s + r.declined, 0);
  const summary = checked === 0
    ? 'not evaluated: no client was checked against the contract'
    : `${checked} check(s) over ${rounds.length} round(s): ${passedChecks} passed and trained, ${declined} declined for contract violations`;
  return { passed: checked > 0 && passedChecks > 0, violations: declined, summary, checked, passedChecks, declined, perRound };
}
