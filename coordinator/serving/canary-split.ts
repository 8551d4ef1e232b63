/**
 * Canary routing (issue 13 §7): random, from the OS CSPRNG, and sticky per caller. The old rule sent exactly
 * every 10th request to the canary, so anyone could predict (and steer) which requests a canary answered.
 *
 * - A request that names its caller (`x-tessera-caller` header) goes to the canary iff
 *   HMAC-SHA256(salt, caller) read as a 48-bit integer u satisfies u / 2^48 < p/100. HMAC is a PRF
 *   (Bellare, "New Proofs for NMAC and HMAC", CRYPTO 2006), so over callers the decisions are independent
 *   Bernoulli(p/100) draws to anyone without the salt, and the same caller always gets the same version for
 *   as long as this canary runs. A new canary (version or share) draws a new 32-byte salt.
 * - A request without a caller is a fresh Bernoulli(p/100) draw from `randomUnit` (default: 48 bits from
 *   crypto.randomBytes). Randomness is a parameter (house rule 5) so tests can check the split statistically.
 */
import { createHmac, randomBytes } from 'node:crypto';

const TWO_48 = 2 ** 48;

export interface CanarySplit {
  readonly percent: number;
  /** True when this request (by this caller, if named) goes to the canary. */
  routes(caller: string | undefined): boolean;
}

/** A uniform draw in [0, 1) with 48 random bits from the OS CSPRNG. */
export function cryptoUnit(): number {
  return randomBytes(6).readUIntBE(0, 6) / TWO_48;
}

export function canarySplit(percent: number, options: { salt?: Uint8Array; randomUnit?: () => number } = {}): CanarySplit {
  const salt = options.salt ?? new Uint8Array(randomBytes(32));
  const unit = options.randomUnit ?? cryptoUnit;
  const share = percent / 100;
  return {
    percent,
    routes(caller) {
      if (!(percent > 0)) return false;
      if (percent >= 100) return true;
      if (caller === undefined || caller === '') return unit() < share;
      const mac = createHmac('sha256', salt).update(caller, 'utf8').digest();
      return mac.readUIntBE(0, 6) / TWO_48 < share;
    },
  };
}
