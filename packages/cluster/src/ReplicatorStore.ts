import type { EntryJson } from './Entry.js';

/**
 * Where a node keeps its replicated entries so that it restarts with them (Akka's durable
 * keys). `save` must be durable when it returns: a write is acknowledged only after it.
 */
export interface ReplicatorStore {
  load(): Iterable<[key: string, entry: EntryJson]>;
  /** Writes these entries at once (all or none). */
  save(entries: ReadonlyArray<readonly [key: string, entry: EntryJson]>): void;
  close(): void;
}
