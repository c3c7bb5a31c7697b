import type { Crdt } from '../Crdt.js';
import type { ReplicaId } from '../ReplicaId.js';

/**
 * An insertion as it travels: a run of `len` elements with sequence numbers `seq..seq+len-1`.
 * `parts` cover the run in order: live content, or a number for a stretch already deleted
 * (tombstones travel without their content).
 */
export interface InsertRecord<C> {
  readonly kind: 'insert';
  readonly replica: ReplicaId;
  readonly seq: number;
  readonly len: number;
  readonly olReplica: ReplicaId | null;
  readonly olSeq: number;
  readonly orReplica: ReplicaId | null;
  readonly orSeq: number;
  readonly parts: ReadonlyArray<C | number>;
}

/**
 * `count` delete operations with sequence numbers `seq..seq+count-1`; operation i deletes the
 * `len` elements from `(targetReplica, targetSeq + i * step)`, where step is ±len when count > 1,
 * so a record covers one contiguous id range. Holding backspace is one record (step -1), not
 * one per keystroke — run-length encoding of deletions, as diamond-types does.
 */
export interface DeleteRecord {
  readonly kind: 'delete';
  readonly replica: ReplicaId;
  readonly seq: number;
  count: number;
  readonly targetReplica: ReplicaId;
  readonly targetSeq: number;
  readonly len: number;
  step: number;
}

/**
 * Operation `seq` of `replica`: join `delta` into the nested CRDT that is element
 * `(targetReplica, targetSeq)` of a List. Like a deletion it has its own sequence number, so
 * `recordsSince` knows exactly which element updates a peer lacks. An update to an element
 * deleted meanwhile changes nothing (delete wins, as in Automerge and Yjs).
 */
export interface UpdateRecord {
  readonly kind: 'update';
  readonly replica: ReplicaId;
  readonly seq: number;
  readonly targetReplica: ReplicaId;
  readonly targetSeq: number;
  readonly delta: Crdt;
}

export type SequenceRecord<C> = InsertRecord<C> | DeleteRecord | UpdateRecord;

/** The last element id a delete record touches: its targets are all below this, inclusive. */
export function lastTarget(r: DeleteRecord): number {
  return Math.max(r.targetSeq, r.targetSeq + (r.count - 1) * r.step) + r.len - 1;
}
