/**
 * Every error the database throws for bad input or misuse carries a stable `code`; the sync
 * layer turns them into protocol error replies. A write that throws has changed nothing.
 */
export type DbErrorCode =
  | 'NOT_JSON' // a value JSON cannot represent (undefined, NaN, a Date, a cycle, ...)
  | 'BAD_ID' // an id or collection name that is empty, not a string, over its length limit, or holds NUL or a lone surrogate
  | 'RESERVED_KEY' // a property name the database keeps for itself (`$…`, a nested `_id`)
  | 'TYPE_MISMATCH' // a value of the wrong kind for its property's CRDT (a string into a counter)
  | 'UNKNOWN_COLLECTION' // a collection the strict schema does not declare
  | 'NOT_FOUND' // update of a document that does not exist
  | 'BAD_QUERY' // an unknown operator or a malformed query
  | 'BAD_CHANGE' // a change that cannot be applied: malformed, or not for this database
  | 'BUFFER_FULL' // too many changes (or bytes) waiting for their predecessors; resend later
  | 'TOO_LARGE' // a document over MAX_DOCUMENT_BYTES of JSON
  | 'TOO_DEEP' // a document nesting deeper than MAX_NESTING levels
  | 'INVALID' // a document its collection's schema refuses (the message says where and why)
  | 'UNSUPPORTED' // the runtime lacks what the call needs (a WebSocket for a URL target)
  | 'BAD_ATTACHMENT' // attachment bytes that do not match their reference's hash or size
  | 'UNAVAILABLE' // attachment bytes this replica lacks and could not fetch (no server, or cut off: retry resumes)
  | 'CLOSED'; // the database was closed

export class DbError extends Error {
  override readonly name = 'DbError';
  constructor(
    readonly code: DbErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}
