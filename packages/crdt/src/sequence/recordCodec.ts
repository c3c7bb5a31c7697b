import type { Decoder } from '../codec/Decoder.js';
import type { Encoder } from '../codec/Encoder.js';
import type { ReplicaId } from '../ReplicaId.js';
import type { Content } from './Run.js';
import type { InsertRecord, SequenceRecord } from './records.js';

enum Tag {
  Insert = 0,
  Delete = 1,
}

/** Origin forms: none, an element of the record's own replica (written relative to `seq`), or any other. */
enum Origin {
  None = 0,
  Own = 1,
  Other = 2,
}

/**
 * Writes sequence records compactly: a record's sequence number relative to the last one of
 * its replica in this message, origins of the record's own replica relative to its `seq`,
 * and tombstone parts as bare lengths.
 */
export function writeRecords<C>(
  enc: Encoder,
  content: Content<C>,
  records: Iterable<SequenceRecord<C>>,
): void {
  const list = [...records];
  const last = new Map<ReplicaId, number>();
  enc.uint(list.length);
  for (const r of list) {
    enc.byte(r.kind === 'insert' ? Tag.Insert : Tag.Delete);
    enc.replica(r.replica);
    enc.int(r.seq - (last.get(r.replica) ?? 0));
    last.set(r.replica, r.seq);
    if (r.kind === 'insert') {
      enc.uint(r.len);
      writeOrigin(enc, r, r.olReplica, r.olSeq);
      writeOrigin(enc, r, r.orReplica, r.orSeq);
      enc.uint(r.parts.length);
      for (const p of r.parts) {
        if (typeof p === 'number') {
          enc.byte(0);
          enc.uint(p);
        } else {
          enc.byte(1);
          content.write(enc, p);
        }
      }
    } else {
      enc.uint(r.count);
      enc.replica(r.targetReplica);
      enc.int(r.seq - r.targetSeq);
      enc.uint(r.len);
      enc.int(r.step);
    }
  }
}

function writeOrigin(enc: Encoder, r: InsertRecord<unknown>, replica: ReplicaId | null, seq: number): void {
  if (replica === null) enc.byte(Origin.None);
  else if (replica === r.replica) {
    enc.byte(Origin.Own);
    enc.int(r.seq - seq);
  } else {
    enc.byte(Origin.Other);
    enc.replica(replica);
    enc.uint(seq);
  }
}

export function readRecords<C>(dec: Decoder, content: Content<C>): SequenceRecord<C>[] {
  const n = dec.count(4);
  const out: SequenceRecord<C>[] = [];
  const last = new Map<ReplicaId, number>();
  for (let i = 0; i < n; i++) {
    const tag = dec.byte();
    const replica = dec.replica();
    const seq = positive(dec, (last.get(replica) ?? 0) + dec.int());
    last.set(replica, seq);
    if (tag === Tag.Insert) {
      const len = positive(dec, dec.uint());
      const [olReplica, olSeq] = readOrigin(dec, replica, seq);
      const [orReplica, orSeq] = readOrigin(dec, replica, seq);
      const m = dec.count(2);
      const parts: Array<C | number> = [];
      let total = 0;
      for (let j = 0; j < m; j++) {
        const live = dec.byte();
        if (live > 1) dec.fail('BAD_TAG', 'record part tag');
        const p = live === 1 ? content.read(dec) : positive(dec, dec.uint());
        total += typeof p === 'number' ? p : content.length(p);
        parts.push(p);
      }
      if (total !== len) dec.fail('BAD_VALUE', `insert parts cover ${total} of ${len} elements`);
      out.push({ kind: 'insert', replica, seq, len, olReplica, olSeq, orReplica, orSeq, parts });
    } else if (tag === Tag.Delete) {
      const count = positive(dec, dec.uint());
      const targetReplica = dec.replica();
      const targetSeq = positive(dec, seq - dec.int());
      const len = positive(dec, dec.uint());
      const step = dec.int();
      if (count > 1 && step !== len && step !== -len)
        dec.fail('BAD_VALUE', 'delete progression not contiguous');
      positive(dec, targetSeq + (count - 1) * step);
      out.push({ kind: 'delete', replica, seq, count, targetReplica, targetSeq, len, step });
    } else {
      dec.fail('BAD_TAG', `sequence record tag ${tag}`);
    }
  }
  return out;
}

function readOrigin(dec: Decoder, replica: ReplicaId, seq: number): [ReplicaId | null, number] {
  const form = dec.byte();
  if (form === Origin.None) return [null, 0];
  if (form === Origin.Own) return [replica, positive(dec, seq - dec.int())];
  if (form === Origin.Other) return [dec.replica(), positive(dec, dec.uint())];
  return dec.fail('BAD_TAG', `origin form ${form}`);
}

function positive(dec: Decoder, n: number): number {
  if (!(n >= 1 && n <= Number.MAX_SAFE_INTEGER)) dec.fail('BAD_VALUE', `sequence number ${n} out of range`);
  return n;
}
