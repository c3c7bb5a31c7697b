import type { ReplicaId } from '../ReplicaId.js';
import type { DeleteRecord } from './records.js';

/**
 * A float column's value as a small integer where it is one: runs built from these numbers then
 * keep their fields unboxed, instead of one 16-byte heap number per field.
 */
function small(v: number): number {
  return v >= -0x40000000 && v < 0x40000000 ? v | 0 : v;
}

/** Shared zero-length columns: never written, since the first push grows them. */
const NO_U32 = new Uint32Array(0);
const NO_F64 = new Float64Array(0);

/**
 * The delete records of a sequence's log, kept in columns of typed arrays: about 40 bytes a
 * record instead of a ~90-byte object. A long-edited document holds as many delete records as
 * insert runs, so this is a good part of its memory.
 */
export class DeleteLog {
  private readonly replicas: ReplicaId[] = [];
  private readonly replicaIndex = new Map<ReplicaId, number>();
  private size = 0;
  // Empty until the first push: every delta is a small sequence, and most never delete.
  private replica = NO_U32;
  private target = NO_U32;
  private seq = NO_F64;
  private targetSeq = NO_F64;
  private count = NO_F64;
  private len = NO_F64;
  private step = NO_F64;

  /** Appends a record; returns its index. */
  push(r: DeleteRecord): number {
    if (this.size === this.seq.length) this.grow();
    const i = this.size++;
    this.replica[i] = this.indexOf(r.replica);
    this.target[i] = this.indexOf(r.targetReplica);
    this.seq[i] = r.seq;
    this.targetSeq[i] = r.targetSeq;
    this.count[i] = r.count;
    this.len[i] = r.len;
    this.step[i] = r.step;
    return i;
  }

  get(i: number): DeleteRecord {
    return {
      kind: 'delete',
      replica: this.replicas[this.replica[i]!]!,
      seq: small(this.seq[i]!),
      count: small(this.count[i]!),
      targetReplica: this.replicas[this.target[i]!]!,
      targetSeq: small(this.targetSeq[i]!),
      len: small(this.len[i]!),
      step: small(this.step[i]!),
    };
  }

  replicaOf(i: number): ReplicaId {
    return this.replicas[this.replica[i]!]!;
  }

  /**
   * Extends record `i` with the next operation of its replica when that continues a contiguous
   * progression (backspace: step -len; forward delete: +len), so a record always covers one id
   * range and applies in one pass, whatever its count.
   */
  extend(
    i: number,
    replica: ReplicaId,
    seq: number,
    targetReplica: ReplicaId,
    targetSeq: number,
    len: number,
  ): boolean {
    const count = this.count[i]!;
    if (
      this.replicaOf(i) !== replica ||
      this.seq[i]! + count !== seq ||
      this.replicas[this.target[i]!] !== targetReplica ||
      this.len[i] !== len
    ) {
      return false;
    }
    const step = count === 1 ? targetSeq - this.targetSeq[i]! : this.step[i]!;
    if ((step !== len && step !== -len) || targetSeq !== this.targetSeq[i]! + step * count) return false;
    this.step[i] = step;
    this.count[i] = count + 1;
    return true;
  }

  clone(): DeleteLog {
    const copy = new DeleteLog();
    for (let i = 0; i < this.size; i++) copy.push(this.get(i));
    return copy;
  }

  private indexOf(replica: ReplicaId): number {
    let i = this.replicaIndex.get(replica);
    if (i === undefined) {
      i = this.replicas.length;
      this.replicas.push(replica);
      this.replicaIndex.set(replica, i);
    }
    return i;
  }

  private grow(): void {
    const n = Math.max(16, this.seq.length * 2);
    const bigger = <T extends Uint32Array | Float64Array>(a: T): T => {
      const b = new (a.constructor as new (n: number) => T)(n);
      b.set(a);
      return b;
    };
    this.replica = bigger(this.replica);
    this.target = bigger(this.target);
    this.seq = bigger(this.seq);
    this.targetSeq = bigger(this.targetSeq);
    this.count = bigger(this.count);
    this.len = bigger(this.len);
    this.step = bigger(this.step);
  }
}
