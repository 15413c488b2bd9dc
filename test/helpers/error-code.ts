// What a call throws, as a short name: an HmsdkError's code, else the error
// class name ('TypeError', 'RangeError'); undefined when it does not throw.
import { HmsdkError } from '../../src/index';

export function errorCode(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof HmsdkError ? e.code : (e as Error).name;
  }
  return undefined;
}

/** The error a call throws; fails the test when it does not throw. */
export function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('did not throw');
}
