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

/** The code of the TesseraError `f` throws, `raw: …` for any other error, undefined when it throws nothing. */
export function thrownCode(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return e instanceof TesseraError ? e.code : `raw: ${String(e)}`;
  }
  return undefined;
}
