/**
 * Every error this package throws carries a stable `code`, so callers (and the sync layer,
 * which turns them into protocol error messages) can branch on it without parsing text.
 */
export type DecodeErrorCode =
  | 'TRUNCATED' // the input ended in the middle of a value
  | 'BAD_VERSION' // the format version byte is not one this build reads
  | 'BAD_TAG' // an unknown type or value tag
  | 'BAD_LENGTH' // a declared length or count larger than the bytes that follow
  | 'BAD_VALUE' // a value outside its domain (integer overflow, duplicate key, unknown replica index, ...)
  | 'TOO_DEEP' // nesting deeper than the decoder allows
  | 'TRAILING_BYTES'; // bytes left over after a complete value

/** Raised by every decoder for malformed, truncated or hostile input. */
export class DecodeError extends Error {
  override readonly name = 'DecodeError';
  constructor(
    readonly code: DecodeErrorCode,
    message: string,
    readonly offset: number,
  ) {
    super(`${code} at byte ${offset}: ${message}`);
  }
}

/** A remote hybrid-logical-clock timestamp is further ahead of local physical time than allowed. */
export class ClockDriftError extends Error {
  override readonly name = 'ClockDriftError';
  readonly code = 'CLOCK_DRIFT';
  constructor(
    readonly remoteWall: number,
    readonly localWall: number,
    readonly maxDriftMs: number,
  ) {
    super(
      `CLOCK_DRIFT: remote timestamp ${remoteWall} is ${remoteWall - localWall} ms ahead of local time (max ${maxDriftMs} ms)`,
    );
  }
}

export type InvalidArgumentCode =
  | 'BAD_REPLICA_ID'
  | 'BAD_AMOUNT'
  | 'NOT_JSON'
  | 'TYPE_MISMATCH'
  | 'BAD_POSITION' // a sequence position or length outside the sequence
  | 'SPLITS_SURROGATE' // a text position between the two halves of a surrogate pair
  | 'BAD_RECORD' // a sequence record naming elements that do not exist
  | 'BAD_TIMESTAMP'; // a timestamp whose wall clock is not a non-negative safe integer of milliseconds

/** A mutator or constructor was called with an argument outside its domain. Nothing was changed. */
export class InvalidArgumentError extends Error {
  override readonly name = 'InvalidArgumentError';
  constructor(
    readonly code: InvalidArgumentCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}
