import { TesseraError } from '../../protocol/errors.ts';

/** Runs `f` and returns the TesseraError it throws; fails the test when it throws nothing or something else. */
export function thrownTesseraError(f: () => unknown): TesseraError {
  try {
    f();
  } catch (e) {
    if (e instanceof TesseraError) return e;
    throw e;
  }
  throw new Error('expected a TesseraError');
}
