import { VersionVector } from '@concord/crdt';
import { Encoder } from '@concord/crdt/internal';
import { type Change, writeChanges } from './Change.js';

/**
 * Remote changes waiting for their predecessor from the same replica (`Database.applyChanges`),
 * with the bytes each holds (its encoded size, counted once it has to wait): a peer that sends
 * changes with a gap in their sequence must not be able to make the buffer hold more than its
 * limits, counted in bytes as well as in changes, per replica and in all.
 */
export class PendingChanges {
  private readonly byKey = new Map<string, { readonly change: Change; bytes: number }>();
  private readonly replicaBytes = new Map<string, number>();
  private total = 0;

  get size(): number {
    return this.byKey.size;
  }

  /** Bytes held in all. */
  get bytes(): number {
    return this.total;
  }

  /** Bytes held for `replica`'s changes. */
  bytesOf(replica: string): number {
    return this.replicaBytes.get(replica) ?? 0;
  }

  /** Adds `c` unless it is held already; true if added. */
  add(c: Change): boolean {
    const key = keyOf(c.dot.replica, c.dot.seq);
    if (this.byKey.has(key)) return false;
    this.byKey.set(key, { change: c, bytes: 0 });
    return true;
  }

  /** Counts the bytes of `c`, which stays held (changes applied at once are never encoded for this). */
  weigh(c: Change): void {
    const e = this.byKey.get(keyOf(c.dot.replica, c.dot.seq));
    if (!e || e.bytes > 0) return;
    // Its encoding before deflate: what the decoded change holds in memory is at least that.
    const enc = new Encoder();
    writeChanges(enc, [c]);
    e.bytes = enc.length;
    this.count(c.dot.replica, e.bytes);
  }

  delete(c: Pick<Change, 'dot'>): void {
    const key = keyOf(c.dot.replica, c.dot.seq);
    const e = this.byKey.get(key);
    if (!e) return;
    this.byKey.delete(key);
    this.count(c.dot.replica, -e.bytes);
  }

  /** Drops every change held for `replica` (its sender went away: it resends what was not acknowledged). */
  drop(replica: string): void {
    for (const { change } of [...this.byKey.values()])
      if (change.dot.replica === replica) this.delete(change);
  }

  /** The held changes that follow `vv` without a gap, each replica's in order (they stay held). */
  ready(vv: VersionVector): Change[] {
    const next = new VersionVector();
    const out: Change[] = [];
    for (const { change } of this.byKey.values()) {
      const r = change.dot.replica;
      if (next.get(r) === 0) next.advance(r, vv.get(r));
      for (let seq = next.get(r) + 1; ; seq++) {
        const e = this.byKey.get(keyOf(r, seq));
        if (!e) break;
        out.push(e.change);
        next.advance(r, seq);
      }
    }
    return out;
  }

  private count(replica: string, bytes: number): void {
    if (bytes === 0) return;
    this.total += bytes;
    const n = (this.replicaBytes.get(replica) ?? 0) + bytes;
    if (n === 0) this.replicaBytes.delete(replica);
    else this.replicaBytes.set(replica, n);
  }
}

function keyOf(replica: string, seq: number): string {
  return `${replica}:${seq}`;
}
