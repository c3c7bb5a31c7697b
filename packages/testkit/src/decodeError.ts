import { DecodeError } from '@concord/crdt';

/** The DecodeError `f` throws; fails the test if it throws anything else, or nothing. */
export function decodeError(f: () => unknown): DecodeError {
  try {
    f();
  } catch (e) {
    if (e instanceof DecodeError) return e;
    throw e;
  }
  throw new Error('expected a DecodeError');
}
