import type { JournalEvent } from './ReplicatedEvent.js';

/** A replica's state at a point of its journal, so recovery replays only what came after. */
export interface Snapshot<S = unknown> {
  readonly state: S;
  /** The events it includes. */
  readonly version: Record<string, number>;
  /** How many events of the journal (in this replica's order) it includes. */
  readonly position: number;
}

/**
 * Where a replica keeps its events: every event it applied, its own and replicated ones, in
 * the order it applied them. `append` is durable when it resolves (an event is acknowledged
 * only then) and ignores events it already holds (the same origin and seq), so redelivery is
 * harmless.
 */
export interface EventJournal {
  append(events: readonly JournalEvent[]): Promise<void>;
  /** The events of `persistenceId` after `position` (0: all), in the order they were appended. */
  read(persistenceId: string, position?: number): Promise<JournalEvent[]>;
  saveSnapshot(persistenceId: string, snapshot: Snapshot): Promise<void>;
  loadSnapshot(persistenceId: string): Promise<Snapshot | undefined>;
  close(): Promise<void>;
}
