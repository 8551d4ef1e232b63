/**
 * Mean ± 95 % confidence interval over a sweep cell's seeds: the Student t interval x̄ ± t₀.₉₇₅,ₙ₋₁ · s/√n
 * (Student 1908, "The probable error of a mean", Biometrika 6(1); s the sample standard deviation with n − 1 in
 * the denominator). It assumes the per-seed results are independent draws from a roughly normal distribution —
 * reasonable for final accuracies over seeds, and with 3 seeds the interval is wide (t = 4.30), as it should be.
 */

/**
 * t₀.₉₇₅ for ν = 1 … 30 degrees of freedom (two-sided 95 %), to 7 digits: the standard table (e.g. NIST/SEMATECH
 * e-Handbook of Statistical Methods §1.3.6.7.2, "Critical values of the Student's t distribution").
 */
const T975: readonly number[] = [
  12.7062047, 4.3026527, 3.1824463, 2.7764451, 2.5705818, 2.4469119, 2.3646243, 2.3060041, 2.2621572, 2.2281389, 2.2009852, 2.1788128, 2.1603687, 2.1447867, 2.1314495, 2.1199053, 2.1098156, 2.100922, 2.0930241, 2.0859634,
  2.0796138, 2.0738731, 2.0686576, 2.0638986, 2.0595386, 2.0555294, 2.051831, 2.0484071, 2.0452296, 2.0422725,
];

/** Φ⁻¹(0.975). */
const Z975 = 1.959963984540054;

/**
 * t₀.₉₇₅,ν. Above 30 degrees of freedom, the Cornish–Fisher expansion of the t quantile in powers of 1/ν
 * (Abramowitz & Stegun 1964, eq. 26.7.5), whose error there is below 1e-6.
 */
export function tQuantile975(nu: number): number {
  if (!Number.isInteger(nu) || nu < 1) throw new RangeError(`degrees of freedom must be a positive integer, got ${nu}`);
  const tabled = T975[nu - 1];
  if (tabled !== undefined) return tabled;
  const z = Z975;
  const g1 = (z ** 3 + z) / 4;
  const g2 = (5 * z ** 5 + 16 * z ** 3 + 3 * z) / 96;
  const g3 = (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / 384;
  const g4 = (79 * z ** 9 + 776 * z ** 7 + 1482 * z ** 5 - 1920 * z ** 3 - 945 * z) / 92160;
  return z + g1 / nu + g2 / nu ** 2 + g3 / nu ** 3 + g4 / nu ** 4;
}

export interface MeanInterval {
  readonly n: number;
  readonly mean: number | null;
  /** Sample standard deviation (n − 1); null below two values. */
  readonly sd: number | null;
  /** 95 % interval; null below two values (one seed says nothing about the spread). */
  readonly low: number | null;
  readonly high: number | null;
}

/** Mean and Student t 95 % interval of the finite values among `values` (null and NaN are left out). */
export function meanInterval95(values: readonly (number | null)[]): MeanInterval {
  const xs = values.filter((v): v is number => v !== null && Number.isFinite(v));
  const n = xs.length;
  if (n === 0) return { n, mean: null, sd: null, low: null, high: null };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return { n, mean, sd: null, low: null, high: null };
  const sd = Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1));
  const half = (tQuantile975(n - 1) * sd) / Math.sqrt(n);
  return { n, mean, sd, low: mean - half, high: mean + half };
}
