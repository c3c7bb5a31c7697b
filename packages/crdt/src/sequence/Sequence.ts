import type { Crdt } from '../Crdt.js';
import { InvalidArgumentError } from '../errors.js';
import type { ReplicaId } from '../ReplicaId.js';
import { VersionVector } from '../VersionVector.js';
import { type Content, Run } from './Run.js';
import { RunTree } from './RunTree.js';

/** A position that follows the element it is attached to (see `Sequence.anchor`); plain JSON. */
export interface Anchor {
  readonly assoc: 'before' | 'after';
  /** The element's id; null for the start or end of the sequence. */
  readonly replica: ReplicaId | null;
  readonly seq: number;
}

import { DeleteLog } from './DeleteLog.js';
import {
  type DeleteRecord,
  type InsertRecord,
  lastTarget,
  type SequenceRecord,
  type UpdateRecord,
} from './records.js';

/**
 * The engine shared by Text and List: a replicated sequence whose concurrent insertions never
 * interleave.
 *
 * Every element has an id `(replica, seq)`, a left origin (the element it was inserted after)
 * and a right origin (the element that followed it then). Remote insertions are placed by the
 * integration rule of Gentle's "YjsMod" (reference-crdts, diamond-types), which orders
 * elements as FugueMax does (Weidner & Kleppmann, "The Art of the Fugue: Minimizing
 * Interleaving in Collaborative Text Editing", 2023): among the elements between an insert's
 * origins, it skips those whose left origin lies further right and, for elements with the
 * same origins, orders by replica id. Runs typed by one replica stay contiguous.
 *
 *     left origin ─┐                      ┌─ right origin
 *                  A  [ x1 x2 ]  [ y1 ]   B
 *                     \_ concurrent inserts between A and B, each kept whole
 *
 * Deletions are operations too, with their own sequence numbers, so a version vector names
 * exactly which insertions and deletions a replica has seen and `recordsSince` sends only what
 * the other side lacks. Records that arrive before what they depend on wait in `pending`.
 */
export class Sequence<C> {
  readonly tree: RunTree<C>;
  /** Per replica, the first fragment of each run it created, in sequence order. */
  private readonly runsByReplica = new Map<ReplicaId, Run<C>[]>();
  /** What has been integrated, in integration order (a causal order): run heads, deletions, element updates. */
  private readonly log: Array<Run<C> | number | UpdateRecord> = [];
  /** The delete records the log's numbers refer to. */
  private deletes = new DeleteLog();
  readonly vv = new VersionVector();
  /** Parked records, by the replica whose next operations they wait for. */
  private readonly waiting = new Map<ReplicaId, Array<{ need: number; record: SequenceRecord<C> }>>();

  constructor(readonly content: Content<C>) {
    this.tree = new RunTree(content);
  }

  get length(): number {
    return this.tree.visibleLength;
  }

  // ── local edits ────────────────────────────────────────────────────────────

  /** Inserts `items` (non-empty) at visible position `pos` as `replica`; returns the record to ship. */
  insert(replica: ReplicaId, pos: number, items: C): InsertRecord<C> {
    const n = this.content.length(items);
    if (!(pos >= 0 && pos <= this.length) || !Number.isInteger(pos)) {
      throw new InvalidArgumentError('BAD_POSITION', `insert at ${pos} of ${this.length}`);
    }
    const seq = this.vv.get(replica) + 1;
    let left: Run<C> | undefined;
    let right: Run<C> | undefined;
    if (pos === 0) {
      right = this.tree.first();
    } else {
      const at = this.tree.findVisible(pos - 1);
      left = at.run;
      if (at.offset < left.len - 1) right = this.tree.split(left, at.offset + 1);
      else right = this.tree.next(left);
    }
    const olReplica = left ? left.replica : null;
    const olSeq = left ? left.seq + left.len - 1 : 0;
    const orReplica = right ? right.replica : null;
    const orSeq = right ? right.seq : 0;
    this.vv.advance(replica, seq + n - 1);
    const record: InsertRecord<C> = {
      kind: 'insert',
      replica,
      seq,
      len: n,
      olReplica,
      olSeq,
      orReplica,
      orSeq,
      parts: [items],
    };
    // Typing at the end of one's own run extends it: one run per burst of typing.
    if (
      left &&
      left.replica === replica &&
      left.content !== null &&
      left.seq + left.len === seq &&
      left.orReplica === orReplica &&
      left.orSeq === orSeq
    ) {
      this.tree.extend(left, items, n);
      return record;
    }
    const run = new Run<C>(replica, seq, n, items, olReplica, olSeq, orReplica, orSeq);
    if (left) this.tree.insertAfter(left, run);
    else this.tree.insert(run);
    this.addRun(run);
    return record;
  }

  /** Deletes `n` visible elements from `pos`; returns the records to ship (one per id range, run-length merged). */
  delete(replica: ReplicaId, pos: number, n: number): DeleteRecord[] {
    if (!(pos >= 0 && n >= 0 && pos + n <= this.length) || !Number.isInteger(pos) || !Number.isInteger(n)) {
      throw new InvalidArgumentError('BAD_POSITION', `delete ${n} at ${pos} of ${this.length}`);
    }
    const out: DeleteRecord[] = [];
    if (n === 0) return out;
    let { run, offset } = this.tree.findVisible(pos);
    let remaining = n;
    while (remaining > 0) {
      if (run.content !== null) {
        if (offset > 0) {
          run = this.tree.split(run, offset);
          offset = 0;
        }
        if (remaining < run.len) this.tree.split(run, remaining);
        remaining -= run.len;
        out.push(this.recordDelete(replica, run.replica, run.seq, run.len));
        run = this.tree.markDeleted(run);
      }
      offset = 0;
      const next = this.tree.next(run);
      if (!next) break;
      run = next;
    }
    return out;
  }

  /**
   * Updates the nested CRDT at visible position `pos` as `replica`: `fn` gets the element's
   * container and offset, mutates the element in place and returns the mutation's delta.
   */
  update(replica: ReplicaId, pos: number, fn: (items: C, offset: number) => Crdt): UpdateRecord {
    if (!(pos >= 0 && pos < this.length) || !Number.isInteger(pos)) {
      throw new InvalidArgumentError('BAD_POSITION', `update at ${pos} of ${this.length}`);
    }
    const { run, offset } = this.tree.findVisible(pos);
    const delta = fn(run.content!, offset);
    const seq = this.nextSeq(replica);
    const record: UpdateRecord = {
      kind: 'update',
      replica,
      seq,
      targetReplica: run.replica,
      targetSeq: run.seq + offset,
      delta,
    };
    this.log.push(record);
    return record;
  }

  /** Takes `replica`'s next sequence number for a local operation of one element. */
  private nextSeq(replica: ReplicaId): number {
    const seq = this.vv.get(replica) + 1;
    this.vv.advance(replica, seq);
    return seq;
  }

  /** Logs one local delete operation, extending the previous record when it continues its progression. */
  private recordDelete(
    replica: ReplicaId,
    targetReplica: ReplicaId,
    targetSeq: number,
    len: number,
  ): DeleteRecord {
    const seq = this.nextSeq(replica);
    const record: DeleteRecord = {
      kind: 'delete',
      replica,
      seq,
      count: 1,
      targetReplica,
      targetSeq,
      len,
      step: 0,
    };
    const last = this.log[this.log.length - 1];
    if (typeof last !== 'number' || !this.deletes.extend(last, replica, seq, targetReplica, targetSeq, len)) {
      this.log.push(this.deletes.push(record));
    }
    return record;
  }

  // ── remote records ─────────────────────────────────────────────────────────

  /**
   * Applies a record from elsewhere: integrates it if what it depends on is here, parks it
   * otherwise. A parked record waits on one missing dependency, kept sorted by the sequence
   * number it needs, and is looked at again only when that replica's version reaches it — so
   * out-of-order delivery costs O(n log n), not a rescan of everything waiting per arrival.
   */
  apply(record: SequenceRecord<C>): void {
    if (!this.tryApply(record)) {
      this.park(record);
      return;
    }
    this.wake(record.replica);
  }

  /** Records still waiting for something they depend on. */
  get pending(): SequenceRecord<C>[] {
    const out: SequenceRecord<C>[] = [];
    for (const list of this.waiting.values()) for (const w of list) out.push(w.record);
    return out;
  }

  private park(r: SequenceRecord<C>): void {
    const [replica, need] = this.missing(r);
    let list = this.waiting.get(replica);
    if (!list) {
      list = [];
      this.waiting.set(replica, list);
    }
    let i = list.length;
    while (i > 0 && list[i - 1]!.need > need) i--;
    list.splice(i, 0, { need, record: r });
  }

  /** The first dependency of `r` not yet here: a replica and the sequence number needed of it. */
  private missing(r: SequenceRecord<C>): [ReplicaId, number] {
    if (this.vv.get(r.replica) < r.seq - 1) return [r.replica, r.seq - 1];
    if (r.kind === 'insert') {
      if (r.olReplica !== null && this.vv.get(r.olReplica) < r.olSeq) return [r.olReplica, r.olSeq];
      return [r.orReplica!, r.orSeq];
    }
    return [r.targetReplica, r.kind === 'update' ? r.targetSeq : lastTarget(r)];
  }

  /** Retries what waited on replicas whose versions just advanced, and on what that advances. */
  private wake(first: ReplicaId): void {
    if (this.waiting.size === 0) return;
    const advanced = [first];
    while (advanced.length > 0) {
      const replica = advanced.pop()!;
      const list = this.waiting.get(replica);
      if (!list) continue;
      const have = this.vv.get(replica);
      let k = 0;
      while (k < list.length && list[k]!.need <= have) k++;
      if (k === 0) continue;
      const ready = list.splice(0, k);
      if (list.length === 0) this.waiting.delete(replica);
      for (const { record } of ready) {
        if (this.tryApply(record)) advanced.push(record.replica);
        else this.park(record);
      }
    }
  }

  /** True if applied (or already known); false if it must wait. */
  private tryApply(r: SequenceRecord<C>): boolean {
    const have = this.vv.get(r.replica);
    if (r.kind === 'insert') {
      if (have >= r.seq + r.len - 1) return true;
      if (have < r.seq - 1) return false;
      if (r.olReplica !== null && this.vv.get(r.olReplica) < r.olSeq) return false;
      if (r.orReplica !== null && this.vv.get(r.orReplica) < r.orSeq) return false;
      this.integrate(have >= r.seq ? this.trimInsert(r, have - r.seq + 1) : r);
      return true;
    }
    if (r.kind === 'update') {
      if (have >= r.seq) return true;
      if (have < r.seq - 1 || this.vv.get(r.targetReplica) < r.targetSeq) return false;
      const { run, offset } = this.find(r.targetReplica, r.targetSeq);
      if (run.content !== null) this.content.update!(run.content, offset, r.delta);
      this.vv.advance(r.replica, r.seq);
      this.log.push(r);
      return true;
    }
    if (have >= r.seq + r.count - 1) return true;
    if (have < r.seq - 1) return false;
    if (this.vv.get(r.targetReplica) < lastTarget(r)) return false;
    const skip = have >= r.seq ? have - r.seq + 1 : 0;
    // The operations skip..count-1 cover one contiguous id range (see recordDelete).
    const a = r.targetSeq + skip * r.step;
    const b = r.targetSeq + (r.count - 1) * r.step;
    const from = Math.min(a, b);
    const len = Math.abs(b - a) + r.len;
    this.checkIds(r.targetReplica, from, len);
    this.deleteIds(r.targetReplica, from, len);
    this.vv.advance(r.replica, r.seq + r.count - 1);
    this.log.push(
      this.deletes.push({
        ...r,
        seq: r.seq + skip,
        count: r.count - skip,
        targetSeq: r.targetSeq + skip * r.step,
      }),
    );
    return true;
  }

  /** Drops the first `k` elements of an insert record (already known here). */
  private trimInsert(r: InsertRecord<C>, k: number): InsertRecord<C> {
    const parts: Array<C | number> = [];
    let skip = k;
    for (const p of r.parts) {
      const n = typeof p === 'number' ? p : this.content.length(p);
      if (skip >= n) {
        skip -= n;
        continue;
      }
      parts.push(typeof p === 'number' ? p - skip : this.content.slice(p, skip));
      skip = 0;
    }
    return { ...r, seq: r.seq + k, len: r.len - k, olReplica: r.replica, olSeq: r.seq + k - 1, parts };
  }

  /** Places a remote run (the YjsMod / FugueMax rule, run at a time) and inserts it. */
  private integrate(r: InsertRecord<C>): void {
    // Both origins must be elements before anything is split.
    if (r.olReplica !== null) this.find(r.olReplica, r.olSeq);
    if (r.orReplica !== null) this.find(r.orReplica, r.orSeq);
    let left: Run<C> | undefined;
    if (r.olReplica !== null) {
      const at = this.find(r.olReplica, r.olSeq);
      if (at.offset < at.run.len - 1) this.tree.split(at.run, at.offset + 1);
      left = at.run;
    }
    let right: Run<C> | undefined;
    if (r.orReplica !== null) {
      const at = this.find(r.orReplica, r.orSeq);
      right = at.offset > 0 ? this.tree.split(at.run, at.offset) : at.run;
    }
    let prev = left;
    let destAfter = left;
    let other = left ? this.tree.next(left) : this.tree.first();
    if (other !== right) {
      // Concurrent insertions sit between the origins: compare positions (tombstones counted).
      const leftPos = left ? this.tree.positionOf(left, false) + left.len - 1 : -1;
      const rightPos = right ? this.tree.positionOf(right, false) : this.tree.totalLength;
      let scanning = false;
      let broke = false;
      for (; other && other !== right; prev = other, other = this.tree.next(other)) {
        if (!scanning) destAfter = prev;
        const oleft = other.olReplica === null ? -1 : this.charPosition(other.olReplica, other.olSeq);
        const oright =
          other.orReplica === null ? this.tree.totalLength : this.charPosition(other.orReplica, other.orSeq);
        if (oleft < leftPos || (oleft === leftPos && oright === rightPos && r.replica < other.replica)) {
          broke = true;
          break;
        }
        if (oleft === leftPos) scanning = oright < rightPos;
      }
      if (!broke && !scanning) destAfter = prev;
    }
    this.place(r, destAfter);
  }

  /** Inserts the runs of a record after `after` (or at the start), one run per part. */
  private place(r: InsertRecord<C>, after: Run<C> | undefined): void {
    let seq = r.seq;
    let head: Run<C> | undefined;
    let prev: Run<C> | undefined;
    for (const p of r.parts) {
      const live = typeof p !== 'number';
      const n = live ? this.content.length(p) : p;
      const run = new Run<C>(
        r.replica,
        seq,
        n,
        live ? p : null,
        prev ? r.replica : r.olReplica,
        prev ? seq - 1 : r.olSeq,
        r.orReplica,
        r.orSeq,
      );
      if (prev) {
        prev.nextFragment = run;
        this.tree.insertAfter(prev, run);
      } else if (after) this.tree.insertAfter(after, run);
      else this.tree.insert(run);
      head ??= run;
      prev = run;
      seq += n;
    }
    this.vv.advance(r.replica, r.seq + r.len - 1);
    if (head) this.addRun(head);
  }

  private addRun(run: Run<C>): void {
    let runs = this.runsByReplica.get(run.replica);
    if (!runs) {
      runs = [];
      this.runsByReplica.set(run.replica, runs);
    }
    runs.push(run);
    this.log.push(run);
  }

  /**
   * Deletes elements `(replica, seq..seq+len-1)`. They are contiguous in id space but may lie in
   * several runs: one replica's run here can be several records' worth elsewhere.
   */
  private deleteIds(replica: ReplicaId, seq: number, len: number): void {
    const end = seq + len;
    for (let s = seq; s < end; ) {
      let { run, offset } = this.find(replica, s);
      if (offset > 0) run = this.tree.split(run, offset);
      if (run.len > end - s) this.tree.split(run, end - s);
      s += run.len;
      if (run.content !== null) this.tree.markDeleted(run);
    }
  }

  /** The fragment holding element `(replica, seq)` and the element's offset in it. */
  find(replica: ReplicaId, seq: number): { run: Run<C>; offset: number } {
    const runs = this.runsByReplica.get(replica);
    let run: Run<C> | null | undefined;
    if (runs) {
      let lo = 0;
      let hi = runs.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (runs[mid]!.seq <= seq) lo = mid;
        else hi = mid - 1;
      }
      run = runs[lo];
      while (run && run.seq + run.len <= seq) run = run.nextFragment;
    }
    // A record naming an id that is not an element here (a deletion's number, say) is corrupt.
    if (!run || run.seq > seq)
      throw new InvalidArgumentError('BAD_RECORD', `no element (${replica}, ${seq})`);
    return { run, offset: seq - run.seq };
  }

  /** Throws BAD_RECORD unless elements `(replica, seq..seq+len-1)` all exist. */
  private checkIds(replica: ReplicaId, seq: number, len: number): void {
    for (let s = seq; s < seq + len; ) {
      const { run, offset } = this.find(replica, s);
      s += run.len - offset;
    }
  }

  private charPosition(replica: ReplicaId, seq: number): number {
    const { run, offset } = this.find(replica, seq);
    return this.tree.positionOf(run, false) + offset;
  }

  // ── anchors ────────────────────────────────────────────────────────────────

  /**
   * An anchor for the gap at visible position `pos`, stuck to the element after it
   * (`assoc: 'after'`, where typing at a cursor goes) or before it. It names an element id,
   * so it stays in place whatever is inserted or deleted elsewhere, on any replica.
   */
  anchor(pos: number, assoc: 'before' | 'after'): Anchor {
    if (!(pos >= 0 && pos <= this.length) || !Number.isInteger(pos)) {
      throw new InvalidArgumentError('BAD_POSITION', `anchor at ${pos} of ${this.length}`);
    }
    if (assoc === 'after' ? pos === this.length : pos === 0) return { assoc, replica: null, seq: 0 };
    const { run, offset } = this.tree.findVisible(assoc === 'after' ? pos : pos - 1);
    return { assoc, replica: run.replica, seq: run.seq + offset };
  }

  /** The visible position of an anchor now. An anchor to a deleted element lands where it stood. */
  resolve(anchor: Anchor): number {
    if (anchor.replica === null) return anchor.assoc === 'after' ? this.length : 0;
    if (this.vv.get(anchor.replica) < anchor.seq) {
      throw new InvalidArgumentError('BAD_POSITION', `anchor to an element not seen here yet`);
    }
    const { run, offset } = this.find(anchor.replica, anchor.seq);
    const before = this.tree.positionOf(run, true);
    if (run.content === null) return before;
    return before + offset + (anchor.assoc === 'before' ? 1 : 0);
  }

  // ── replication ────────────────────────────────────────────────────────────

  /** A deep copy, built run by run in document order: O(n), no integration. */
  clone(): Sequence<C> {
    const copy = new Sequence(this.content);
    const twin = new Map<Run<C>, Run<C>>();
    for (const r of this.tree) {
      const content = r.content === null ? null : this.content.clone(r.content);
      const c = new Run<C>(r.replica, r.seq, r.len, content, r.olReplica, r.olSeq, r.orReplica, r.orSeq);
      twin.set(r, c);
      copy.tree.append(c);
    }
    for (const [r, c] of twin) if (r.nextFragment) c.nextFragment = twin.get(r.nextFragment)!;
    for (const [replica, runs] of this.runsByReplica)
      copy.runsByReplica.set(
        replica,
        runs.map((r) => twin.get(r)!),
      );
    for (const e of this.log) copy.log.push(e instanceof Run ? twin.get(e)! : e);
    copy.deletes = this.deletes.clone();
    copy.vv.merge(this.vv);
    for (const [replica, list] of this.waiting) copy.waiting.set(replica, list.slice());
    return copy;
  }

  /** Everything integrated after `vv`, in a causal order, then what is still pending. */
  *recordsSince(vv: VersionVector): IterableIterator<SequenceRecord<C>> {
    for (const entry of this.log) {
      if (entry instanceof Run) {
        const record = this.chainRecord(entry, vv.get(entry.replica));
        if (record) yield record;
        continue;
      }
      if (typeof entry !== 'number') {
        if (entry.seq > vv.get(entry.replica)) yield entry;
        continue;
      }
      const d = this.deletes.get(entry);
      const have = vv.get(d.replica);
      if (d.seq + d.count - 1 > have) {
        const skip = Math.max(0, have - d.seq + 1);
        yield { ...d, seq: d.seq + skip, count: d.count - skip, targetSeq: d.targetSeq + skip * d.step };
      }
    }
    yield* this.pending;
  }

  get pendingCount(): number {
    let n = 0;
    for (const list of this.waiting.values()) n += list.length;
    return n;
  }

  /** The record for the part of a run's fragment chain after sequence number `have`. */
  private chainRecord(head: Run<C>, have: number): InsertRecord<C> | undefined {
    const parts: Array<C | number> = [];
    let start = -1;
    let len = 0;
    for (let f: Run<C> | null = head; f; f = f.nextFragment) {
      if (f.seq + f.len - 1 <= have) continue;
      const skip = Math.max(0, have - f.seq + 1);
      if (start < 0) start = f.seq + skip;
      const n = f.len - skip;
      len += n;
      const prev = parts[parts.length - 1];
      if (f.content === null) {
        if (typeof prev === 'number') parts[parts.length - 1] = prev + n;
        else parts.push(n);
      } else {
        const c = skip > 0 ? this.content.slice(f.content, skip) : f.content;
        if (prev !== undefined && typeof prev !== 'number')
          parts[parts.length - 1] = this.content.concat(prev, c);
        else parts.push(c);
      }
    }
    if (start < 0) return undefined;
    const first = start === head.seq;
    return {
      kind: 'insert',
      replica: head.replica,
      seq: start,
      len,
      olReplica: first ? head.olReplica : head.replica,
      olSeq: first ? head.olSeq : start - 1,
      orReplica: head.orReplica,
      orSeq: head.orSeq,
      parts,
    };
  }
}
