/**
 * `@concord/cluster`: nodes linked by WebSockets form a cluster; `Replicator` is seed 004's
 * DistributedData, a gossip-replicated key-value store of `@concord/crdt` states with Akka's
 * consistency levels. Node-only (it listens and dials with `ws`).
 */
export { ClusterError, type ClusterErrorCode } from './ClusterError.js';
export { ClusterNode, type ClusterOptions, type Handler, type Member } from './ClusterNode.js';
export type { EntryJson } from './Entry.js';
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
