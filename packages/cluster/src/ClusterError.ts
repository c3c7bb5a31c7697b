/** What can go wrong in a cluster, each with a stable code. */
export type ClusterErrorCode =
  | 'TIMEOUT' // a consistency level not reached in time; a write still spreads by gossip
  | 'TYPE_MISMATCH' // a key updated or read as another CRDT type than it holds
  | 'BAD_ARGUMENT' // an option or key no node can accept
  | 'STOPPED'; // the node was stopped

export class ClusterError extends Error {
  override readonly name = 'ClusterError';
  constructor(
    readonly code: ClusterErrorCode,
    /** What is wrong, without the code (the message says both). */
    readonly reason: string,
  ) {
    super(`${code}: ${reason}`);
  }
}
