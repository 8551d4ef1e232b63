import { describe, expect, it } from 'vitest';
import { SignedLogSum, logAddExp, logErfc, logNormalCdf } from './special.ts';

// Reference values: mpmath 1.3.0 with mp.dps = 50, log(erfc(mpf(x))) and log(ncdf(mpf(t))), printed to 20 digits.
// Kept as strings (all the printed digits) and parsed once: float64 holds ~17 of them.
const LOG_ERFC_TEXT: Array<[number, string]> = [
  [-8, '0.69314718055994530942'],
  [-1.3, '0.65959450505816226884'],
  [-0.25, '0.24398594388138443125'],
  [-1e-9, '1.1283791664588928016e-9'],
  [0, '0'],
  [1e-6, '-1.1283798037153877141e-6'],
  [0.5, '-0.73501112983708440303'],
  [1.2247, '-2.4855971105241261562'], // just below the series / continued-fraction switch (x² = 1.5)
  [1.2248, '-2.4858994916294797809'], // just above it
  [2, '-5.3649412646166375745'],
  [6, '-38.377561173223388366'],
  [27, '-732.86888650789741098'], // erfc itself is 1e-318 here: only the log form survives
  [40, '-1604.2615566532735557'],
  [300, '-90006.276152973059298'],
];

const LOG_NCDF_TEXT: Array<[number, string]> = [
  [-40, '-804.60844201375378817'],
  [-5, '-15.064998393988725736'],
  [0, '-0.69314718055994530942'],
  [3, '-0.0013508099647481937988'],
];

const LOG_ERFC = LOG_ERFC_TEXT.map(([x, v]) => [x, Number(v)] as [number, number]);
const LOG_NCDF = LOG_NCDF_TEXT.map(([x, v]) => [x, Number(v)] as [number, number]);

function rel(a: number, b: number): number {
  return b === 0 ? Math.abs(a) : Math.abs(a - b) / Math.abs(b);
}

describe('logErfc', () => {
  it.each(LOG_ERFC)('log erfc(%d) matches mpmath to 4e-15 relative', (x, ref) => {
    expect(rel(logErfc(x), ref)).toBeLessThan(4e-15);
  });
  it('handles infinities and NaN', () => {
    expect(logErfc(Infinity)).toBe(-Infinity);
    expect(logErfc(-Infinity)).toBeCloseTo(Math.LN2, 15);
    expect(Number.isNaN(logErfc(Number.NaN))).toBe(true);
  });
});

describe('logNormalCdf', () => {
  it.each(LOG_NCDF)('log Φ(%d) matches mpmath', (t, ref) => {
    expect(rel(logNormalCdf(t), ref)).toBeLessThan(4e-15);
  });
});

describe('SignedLogSum', () => {
  it('adds signed terms exactly like the linear sum', () => {
    const terms = [5, -3, 0.25, -2.5, 1e-3, -1e-3];
    const s = new SignedLogSum();
    for (const t of terms) s.add(Math.sign(t), Math.log(Math.abs(t)));
    expect(s.signum).toBe(-1);
    expect(Math.exp(s.log)).toBeCloseTo(0.25, 14);
  });
  it('reaches an exact zero and recovers', () => {
    const s = new SignedLogSum();
    s.add(1, 2);
    s.add(-1, 2);
    expect(s.signum).toBe(0);
    s.add(1, 0);
    expect(s.signum).toBe(1);
    expect(s.log).toBe(0);
  });
  it('logAddExp does not overflow', () => {
    expect(logAddExp(1000, 1000)).toBeCloseTo(1000 + Math.LN2, 12);
    expect(logAddExp(-Infinity, 3)).toBe(3);
  });
});
