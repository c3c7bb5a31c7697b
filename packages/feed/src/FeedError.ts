/** What can be wrong with a feed, each with a stable code. */
export type FeedErrorCode =
  | 'BAD_RECORD' // not a JSON object, no `_id`, an id no storage can keep
  | 'BAD_FORMAT' // a file that is neither JSON Lines nor CSV
  | 'UNAVAILABLE'; // NATS (or its JetStream) cannot be reached

export class FeedError extends Error {
  override readonly name = 'FeedError';
  constructor(
    readonly code: FeedErrorCode,
    /** What is wrong, without the code (the message says both). */
    readonly reason: string,
  ) {
    super(`${code}: ${reason}`);
  }
}
