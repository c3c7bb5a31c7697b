import type { VersionVector } from '@concord/crdt';
import type { JournalEvent } from './ReplicatedEvent.js';

/** What a replica offers the replication that carries its events to the others. */
export interface ReplicationEndpoint {
  readonly persistenceId: string;
  readonly replica: string;
  /** The events this replica holds, per origin. */
  version(): VersionVector;
  /** Events this replica holds that `version` does not include, in an order they can be applied in. */
  eventsAfter(version: VersionVector, limit: number): Promise<JournalEvent[]>;
  /** Events from elsewhere; resolves once those that could be applied are journaled. */
  deliver(events: readonly JournalEvent[]): Promise<void>;
}

/**
 * How events travel between the replicas of an entity: the cluster's links between devices
 * (`ClusterReplication`), or a broker. `publish` is called after the events are journaled;
 * a replication that loses them (a link down) must catch the other replicas up later.
 */
export interface EventReplication {
  attach(endpoint: ReplicationEndpoint): () => void;
  publish(endpoint: ReplicationEndpoint, events: readonly JournalEvent[]): void;
}
