/**
 * Deterministic canary routing: request i (counting from 0 since the canary started) goes to the canary iff
 * ⌊(i+1)·p/100⌋ > ⌊i·p/100⌋. This spreads the canary's share evenly (the rounding rule of Bresenham's line
 * algorithm, 1965), so over any n requests the canary receives ⌊n·p/100⌋ of them, never a burst.
 */
export function routesToCanary(index: number, percent: number): boolean {
  if (!(percent > 0)) return false;
  if (percent >= 100) return true;
  return Math.floor(((index + 1) * percent) / 100) > Math.floor((index * percent) / 100);
}
