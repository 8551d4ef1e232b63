/**
 * From RDP to (ε, δ)-DP: minimise over the orders the bound each order gives.
 *  - classic: ε = rdp(α) + log(1/δ)/(α − 1) (Mironov 2017, "Rényi Differential Privacy", CSF, Prop. 3);
 *  - improved: ε = rdp(α) + log(1 − 1/α) − (log δ + log α)/(α − 1) (Canonne, Kamath & Steinke 2020, "The
 *    Discrete Gaussian for Differential Privacy", NeurIPS, Prop. 12; also Asoodeh et al. 2020, eq. 20), used
 *    for α > 1.01 where it is numerically stable, and ε = 0 when δ² ≥ 1 − e^{−rdp} (the KL/Pinsker-type bound
 *    δ ≤ √(1 − e^{−KL})) — exactly the rules of dp_accounting `compute_epsilon` / tensorflow/privacy
 *    `_compute_eps`, so the reference vectors reproduce to the last digits.
 */
import { TesseraError } from '../../protocol/errors.ts';

export type Conversion = 'improved' | 'classic';

export interface RdpToEpsilonOptions {
  orders: readonly number[];
  rdp: ArrayLike<number>;
  delta: number;
  conversion?: Conversion;
}

export interface EpsilonAtOrder {
  epsilon: number;
  /** The order at which the minimum is attained (the first one on ties, like numpy's argmin). */
  order: number;
}

/**
 * The bound one order gives, before the final clamp at 0. For a fixed order, a larger RDP value never gives a
 * smaller positive bound: classic is rdp plus a term of the order and δ alone; improved is the same above the
 * Pinsker-type threshold and 0 below it, so a positive value comes from above the threshold, where every larger
 * RDP value stays. epsilon.ts relies on this to skip an order from a lower bound on its RDP.
 */
export function epsilonAtOrder(order: number, rdp: number, delta: number, conversion: Conversion = 'improved'): number {
  return conversion === 'improved' ? improvedAt(order, rdp, delta) : classicAt(order, rdp, delta);
}

function improvedAt(order: number, rdp: number, delta: number): number {
  if (delta * delta + Math.expm1(-rdp) >= 0) return 0;
  if (order > 1.01) return rdp + Math.log1p(-1 / order) - Math.log(delta * order) / (order - 1);
  return Infinity;
}

function classicAt(order: number, rdp: number, delta: number): number {
  return rdp - Math.log(delta) / (order - 1);
}

export function rdpToEpsilon({ orders, rdp, delta, conversion = 'improved' }: RdpToEpsilonOptions): EpsilonAtOrder {
  if (!(delta > 0 && delta < 1)) throw new TesseraError('TESSERA_ERR_ACCOUNTANT', `delta must be in (0, 1), got ${delta}`);
  if (orders.length === 0 || orders.length !== rdp.length) {
    throw new TesseraError('TESSERA_ERR_ACCOUNTANT', `orders and rdp must be non-empty and of equal length (${orders.length} vs ${rdp.length})`);
  }
  const at = conversion === 'improved' ? improvedAt : classicAt;
  let best = Infinity;
  let bestOrder = orders[0] as number;
  for (let i = 0; i < orders.length; i++) {
    const a = orders[i] as number;
    const r = rdp[i] as number;
    if (!(a >= 1)) throw new TesseraError('TESSERA_ERR_ACCOUNTANT', `RDP orders must be ≥ 1, got ${a}`);
    if (!(r >= 0)) throw new TesseraError('TESSERA_ERR_ACCOUNTANT', `RDP values must be ≥ 0, got ${r} at order ${a}`);
    const e = at(a, r, delta);
    if (e < best) {
      best = e;
      bestOrder = a;
    }
  }
  return { epsilon: Math.max(0, best), order: bestOrder };
}
