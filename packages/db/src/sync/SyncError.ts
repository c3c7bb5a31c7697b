/**
 * What can go wrong in a sync session, each with a stable code: the code travels in the
 * protocol's `error` and `reject` messages, and a session that ends because of it closes its
 * transport with the matching close code (4000 + an HTTP status that says the same).
 */
export type SyncErrorCode =
  | 'BAD_MESSAGE' // undecodable, malformed or out of place
  | 'TOO_LARGE' // over the size limit, checked again after decompression
  | 'UNSUPPORTED_VERSION' // a protocol version this side does not speak
  | 'UNAUTHORIZED' // no token, or one that does not verify
  | 'FORBIDDEN' // a subscription or a write the token does not grant
  | 'BAD_REPLICA' // a change in another replica's name, or a replica id bound to another principal
  | 'FORKED' // a replica's storage restored from a backup or copied: the server holds other changes under its numbers
  | 'REJECTED' // a validation hook refused the change
  | 'RATE_LIMITED' // more messages than the connection is allowed
  | 'SLOW_CONSUMER' // the peer does not read fast enough: its send queue is full
  | 'TIMEOUT' // no heartbeat answered
  | 'SHUTDOWN' // the server is stopping
  | 'BAD_ID' // a change's document id or collection name no storage can keep (see limits)
  | 'TOO_DEEP' // a document nesting deeper than the limit
  | 'CLOCK_DRIFT' // a change's timestamp too far ahead of the server's clock
  | 'BUFFER_FULL' // more changes (or bytes) held waiting for their predecessors than allowed
  | 'BAD_QUERY' // a subscription's filter that is malformed or over the query limits
  | 'SERVER_ERROR' // the server failed to handle a valid message
  | 'UNAVAILABLE'; // a snapshot chunk the client could not fetch over HTTP (it resumes on a new link)

const CLOSE_CODES: Readonly<Record<SyncErrorCode, number>> = {
  BAD_MESSAGE: 4400,
  TOO_LARGE: 4413,
  UNSUPPORTED_VERSION: 4426,
  UNAUTHORIZED: 4401,
  FORBIDDEN: 4403,
  BAD_REPLICA: 4409,
  FORKED: 4412,
  REJECTED: 4422,
  RATE_LIMITED: 4429,
  SLOW_CONSUMER: 4503,
  TIMEOUT: 4408,
  SHUTDOWN: 1001,
  BAD_ID: 4414,
  TOO_DEEP: 4431,
  CLOCK_DRIFT: 4425,
  BUFFER_FULL: 4507,
  BAD_QUERY: 4416,
  SERVER_ERROR: 4500,
  UNAVAILABLE: 4504,
};

export const SYNC_ERROR_CODES = Object.keys(CLOSE_CODES) as SyncErrorCode[];

export class SyncError extends Error {
  override readonly name = 'SyncError';
  constructor(
    readonly code: SyncErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }

  /** The transport close code a session ending with this error uses. */
  get closeCode(): number {
    return CLOSE_CODES[this.code];
  }
}

/** The error a close code stands for, if it is one of Concord's. */
export function closeCodeError(code: number): SyncErrorCode | undefined {
  return SYNC_ERROR_CODES.find((c) => CLOSE_CODES[c] === code);
}

export function isSyncErrorCode(code: string): code is SyncErrorCode {
  return Object.hasOwn(CLOSE_CODES, code);
}
