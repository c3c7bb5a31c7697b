/**
 * `@concord/cluster`: nodes linked by WebSockets form a cluster; `Replicator` is seed 004's
 * DistributedData, a gossip-replicated key-value store of `@concord/crdt` states with Akka's
 * consistency levels, and `ReplicatedEntity` its replicated event sourcing. Node-only (it
 * listens and dials with `ws`).
 */
export { ClusterError, type ClusterErrorCode } from './ClusterError.js';
export { ClusterNode, type ClusterOptions, type Handler, type Member } from './ClusterNode.js';
export { ClusterReplication, type ClusterReplicationOptions } from './ClusterReplication.js';
export type { EntryJson } from './Entry.js';
export type { EventJournal, Snapshot } from './EventJournal.js';
export type { EventReplication, ReplicationEndpoint } from './EventReplication.js';
export { MemoryJournal } from './MemoryJournal.js';
export {
  type EntityListener,
  type Ordering,
  ReplicatedEntity,
  type ReplicatedEntityOptions,
} from './ReplicatedEntity.js';
export { compareEvents, type EventMeta, type JournalEvent } from './ReplicatedEvent.js';
export {
  type Consistency,
  type ReadOptions,
  Replicator,
  type ReplicatorOptions,
  type Subscriber,
  type WriteOptions,
} from './Replicator.js';
export type { ReplicatorStore } from './ReplicatorStore.js';
export type { Timers } from './Timers.js';
