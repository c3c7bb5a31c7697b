import { compareTimestamps, type Timestamp, type VersionVector } from '@concord/crdt';

/** One event as journaled and replicated: what it says, and where and when it was written. */
export interface JournalEvent<E = unknown> {
  readonly persistenceId: string;
  /** The replica whose command persisted it. */
  readonly origin: string;
  /** The origin's count of events for this persistence id (1, 2, …). */
  readonly seq: number;
  /** The events the origin had applied when it wrote this one, this one included. */
  readonly version: Record<string, number>;
  /** The origin's hybrid logical clock when it wrote it. */
  readonly timestamp: Timestamp;
  readonly payload: E;
}

/** What an event handler is told beside the event. */
export interface EventMeta {
  readonly origin: string;
  readonly seq: number;
  readonly version: VersionVector;
  readonly timestamp: Timestamp;
  /**
   * True when the event was written without knowing of events this replica had already
   * applied (Akka's `concurrent`): where a handler resolves conflicts.
   */
  readonly concurrent: boolean;
  /** Persisted by this replica (not replicated to it). */
  readonly local: boolean;
  /** Applied while recovering from the journal or replaying after a rewind. */
  readonly replaying: boolean;
}

/** The one total order every replica applies events in under `ordering: 'timestamp'`: HLC, then origin. */
export function compareEvents(a: JournalEvent, b: JournalEvent): number {
  return (
    compareTimestamps(a.timestamp, b.timestamp) || (a.origin < b.origin ? -1 : a.origin > b.origin ? 1 : 0)
  );
}
