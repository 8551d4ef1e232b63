/**
 * Canary routing (issue 13 §7; review 3's canary-steering finding): which requests the canary answers. Random,
 * from the OS CSPRNG, sticky, and keyed first on what the caller cannot choose — the id of its token, which an
 * admin issues — so that no token reaches the canary with more than its random share of its own requests.
 *
 * - A request whose caller names an end user (`x-tessera-caller` header) draws u = HMAC-SHA256(salt, tokenId ‖
 *   caller) read as a 48-bit integer over 2^48: the token's id comes first and the header is only mixed in after
 *   it, so the same header under two tokens routes independently, and one (token, caller) pair always draws the
 *   same u for as long as this canary runs. HMAC is a PRF (Bellare, "New Proofs for NMAC and HMAC", CRYPTO 2006):
 *   to anyone without the salt, distinct pairs draw independent uniform u. A new canary (version or share)
 *   draws a new 32-byte salt.
 * - A request without the header draws u fresh from `randomUnit` (default 48 bits from crypto.randomBytes).
 * - u < p/100 asks for the canary. The header is the caller's free choice, and every answer names the stage that
 *   served it, so a token can search headers for ones that land on the canary (review 3). The **share quota**
 *   makes that search worthless: of a token's n requests under this canary, the canary answers at most
 *   p·n + 3·√(n·p·(1−p)) + 1 — the Binomial(n, p) mean plus three standard deviations and one request (normal
 *   approximation; a token whose draws are independent stays under it at a given n with probability ≈ 99.9 %).
 *   A request over the quota goes to production, breaking that caller's stickiness. So a token's canary share is
 *   p plus a slack that shrinks as 3·√(p(1−p)/n), whatever headers it sends.
 * - A token can still keep its requests *away* from the canary (headers that land on production), and choose
 *   which of its requests fill its share. That only decides its own evidence; the canary's verdicts never rest
 *   on one token (governance/monitoring/canary-evidence.ts).
 *
 * The quota's counts live in memory with the salt: a restart draws a new salt and starts them again.
 */
import { createHmac, randomBytes } from 'node:crypto';

const TWO_48 = 2 ** 48;

/** Who is asking: the authenticated token's id (undefined only for in-process callers) and the optional header. */
export interface RouteKey {
  readonly tokenId: string | undefined;
  readonly caller: string | undefined;
}

export interface CanarySplit {
  readonly percent: number;
  /** True when this request goes to the canary; counts it against the token's quota. */
  routes(key: RouteKey): boolean;
}

/** A uniform draw in [0, 1) with 48 random bits from the OS CSPRNG. */
export function cryptoUnit(): number {
  return randomBytes(6).readUIntBE(0, 6) / TWO_48;
}

/** Most canary requests allowed among a token's first n under share p (the header's formula). */
export function canaryQuota(n: number, share: number): number {
  return share * n + 3 * Math.sqrt(n * share * (1 - share)) + 1;
}

/** tokenId then caller, each length-prefixed, so no two (token, caller) pairs give the same HMAC input. */
function pairBytes(tokenId: string, caller: string): Buffer {
  const t = Buffer.from(tokenId, 'utf8');
  const c = Buffer.from(caller, 'utf8');
  const head = Buffer.alloc(8);
  head.writeUInt32BE(t.length, 0);
  head.writeUInt32BE(c.length, 4);
  return Buffer.concat([head.subarray(0, 4), t, head.subarray(4), c]);
}

export function canarySplit(percent: number, options: { salt?: Uint8Array; randomUnit?: () => number } = {}): CanarySplit {
  const salt = options.salt ?? new Uint8Array(randomBytes(32));
  const unit = options.randomUnit ?? cryptoUnit;
  const share = percent / 100;
  /** Per token: requests routed under this canary, and how many the canary answered. Bounded by the tokens an admin issued. */
  const seen = new Map<string, { requests: number; canary: number }>();
  return {
    percent,
    routes({ tokenId, caller }) {
      if (!(percent > 0)) return false;
      if (percent >= 100) return true;
      const token = tokenId ?? '';
      const u = caller === undefined || caller === '' ? unit() : createHmac('sha256', salt).update(pairBytes(token, caller)).digest().readUIntBE(0, 6) / TWO_48;
      const counts = seen.get(token) ?? { requests: 0, canary: 0 };
      counts.requests++;
      const toCanary = u < share && counts.canary + 1 <= canaryQuota(counts.requests, share);
      if (toCanary) counts.canary++;
      seen.set(token, counts);
      return toCanary;
    },
  };
}
