import { typeOf } from '../Crdt.js';
import type { Decoder } from '../codec/Decoder.js';
import type { Encoder } from '../codec/Encoder.js';
import { InvalidArgumentError } from '../errors.js';
import type { ReplicaId } from '../ReplicaId.js';
import type { Content } from './Run.js';
import type { DeleteRecord, InsertRecord, SequenceRecord, UpdateRecord } from './records.js';
import type { Sequence } from './Sequence.js';

/**
 * Sequence records, compactly. Each record starts with one flag byte that says what the
 * common case lets it leave out — the replica (same as the previous record's), the sequence
 * number (the next one of that replica), origins of the record's own replica (written as small
 * differences), a single live part (its length is the content's length), a count or length of
 * one — so a burst of typing costs about three bytes beyond its text, and a run of backspaces
 * about three bytes in all.
 *
 *   bit   insert                              delete / element update
 *   0     0                                   1
 *   1     same replica as previous record     same replica as previous record
 *   2     seq = that replica's next           seq = that replica's next
 *   3-4   left origin: none / own / other     3: count = 1    4: len = 1   (delete)
 *   5-6   right origin: none / own / other    5: target is own replica    6: step is -len
 *   7     one live part                       0: delete, 1: update (then the delta, tagged)
 */
const KIND_DELETE = 1;
const SAME_REPLICA = 1 << 1;
const NEXT_SEQ = 1 << 2;
const ONE_LIVE_PART = 1 << 7;
const COUNT_ONE = 1 << 3;
const LEN_ONE = 1 << 4;
const OWN_TARGET = 1 << 5;
const STEP_BACK = 1 << 6;
const UPDATE = 1 << 7;

enum Origin {
  None = 0,
  Own = 1,
  Other = 2,
}

export function writeRecords<C>(
  enc: Encoder,
  content: Content<C>,
  records: Iterable<SequenceRecord<C>>,
): void {
  const list = [...records];
  const last = new Map<ReplicaId, number>();
  let prevReplica: ReplicaId | undefined;
  enc.uint(list.length);
  for (const r of list) {
    const next = (last.get(r.replica) ?? 0) + 1;
    let flags = r.kind === 'insert' ? 0 : KIND_DELETE;
    if (r.replica === prevReplica) flags |= SAME_REPLICA;
    if (r.seq === next) flags |= NEXT_SEQ;
    if (r.kind === 'insert') {
      const ol = originForm(r, r.olReplica);
      const or = originForm(r, r.orReplica);
      const single = r.parts.length === 1 && typeof r.parts[0] !== 'number';
      enc.byte(flags | (ol << 3) | (or << 5) | (single ? ONE_LIVE_PART : 0));
      writeHead(enc, r, flags, next);
      if (ol === Origin.Own) enc.uint(r.seq - r.olSeq - 1);
      else if (ol === Origin.Other) writeId(enc, r.olReplica!, r.olSeq);
      // An own right origin is written against the left origin when that is own too: inserting
      // inside one's own run makes them neighbours, a difference of one.
      if (or === Origin.Own) enc.int(r.orSeq - (ol === Origin.Own ? r.olSeq : r.seq));
      else if (or === Origin.Other) writeId(enc, r.orReplica!, r.orSeq);
      if (single) content.write(enc, r.parts[0] as C);
      else {
        // Parts alternate live / deleted (neighbours of one kind are merged), so one flag says which comes first.
        enc.uint(r.parts.length);
        enc.byte(typeof r.parts[0] === 'number' ? 0 : 1);
        for (const p of r.parts) {
          if (typeof p === 'number') enc.uint(p);
          else content.write(enc, p);
        }
      }
      last.set(r.replica, r.seq + r.len - 1);
    } else if (r.kind === 'update') {
      if (r.targetReplica === r.replica) flags |= OWN_TARGET;
      enc.byte(flags | UPDATE);
      writeHead(enc, r, flags, next);
      if (r.targetReplica !== r.replica) enc.replica(r.targetReplica);
      enc.int(r.seq - r.targetSeq);
      enc.byte(typeOf(r.delta).tag);
      r.delta.encodeTo(enc);
      last.set(r.replica, r.seq);
    } else {
      if (r.count === 1) flags |= COUNT_ONE;
      if (r.len === 1) flags |= LEN_ONE;
      if (r.targetReplica === r.replica) flags |= OWN_TARGET;
      if (r.count > 1 && r.step < 0) flags |= STEP_BACK;
      enc.byte(flags);
      writeHead(enc, r, flags, next);
      if (r.count > 1) enc.uint(r.count - 2);
      if (r.len > 1) enc.uint(r.len - 2);
      if (r.targetReplica !== r.replica) enc.replica(r.targetReplica);
      enc.int(r.seq - r.targetSeq);
      last.set(r.replica, r.seq + r.count - 1);
    }
    prevReplica = r.replica;
  }
}

function originForm(r: InsertRecord<unknown>, replica: ReplicaId | null): Origin {
  return replica === null ? Origin.None : replica === r.replica ? Origin.Own : Origin.Other;
}

function writeHead(enc: Encoder, r: SequenceRecord<unknown>, flags: number, next: number): void {
  if (!(flags & SAME_REPLICA)) enc.replica(r.replica);
  if (!(flags & NEXT_SEQ)) enc.int(r.seq - next);
}

function writeId(enc: Encoder, replica: ReplicaId, seq: number): void {
  enc.replica(replica);
  enc.uint(seq);
}

export function readRecords<C>(dec: Decoder, content: Content<C>): SequenceRecord<C>[] {
  const n = dec.count(2);
  const out: SequenceRecord<C>[] = [];
  const last = new Map<ReplicaId, number>();
  let prevReplica: ReplicaId | undefined;
  for (let i = 0; i < n; i++) {
    const flags = dec.byte();
    let replica: ReplicaId;
    if (flags & SAME_REPLICA) {
      if (prevReplica === undefined) dec.fail('BAD_VALUE', 'no previous record');
      replica = prevReplica;
    } else replica = dec.replica();
    const next = (last.get(replica) ?? 0) + 1;
    const seq = positive(dec, flags & NEXT_SEQ ? next : next + dec.int());
    if (flags & KIND_DELETE && flags & UPDATE) {
      if (!content.update) dec.fail('BAD_TAG', 'element update in a sequence of plain values');
      out.push(readUpdate(dec, flags, replica, seq));
      last.set(replica, seq);
    } else if (flags & KIND_DELETE) {
      const record = readDelete(dec, flags, replica, seq);
      last.set(replica, seq + record.count - 1);
      out.push(record);
    } else {
      const record = readInsert(dec, content, flags, replica, seq);
      last.set(replica, seq + record.len - 1);
      out.push(record);
    }
    prevReplica = replica;
  }
  return out;
}

function readInsert<C>(
  dec: Decoder,
  content: Content<C>,
  flags: number,
  replica: ReplicaId,
  seq: number,
): InsertRecord<C> {
  const ol = (flags >> 3) & 3;
  const or = (flags >> 5) & 3;
  let olReplica: ReplicaId | null = null;
  let olSeq = 0;
  if (ol === Origin.Own) {
    olReplica = replica;
    olSeq = positive(dec, seq - 1 - dec.uint());
  } else if (ol === Origin.Other) [olReplica, olSeq] = readId(dec);
  else if (ol !== Origin.None) dec.fail('BAD_TAG', 'left origin form');
  let orReplica: ReplicaId | null = null;
  let orSeq = 0;
  if (or === Origin.Own) {
    orReplica = replica;
    orSeq = positive(dec, (ol === Origin.Own ? olSeq : seq) + dec.int());
  } else if (or === Origin.Other) [orReplica, orSeq] = readId(dec);
  else if (or !== Origin.None) dec.fail('BAD_TAG', 'right origin form');
  const parts: Array<C | number> = [];
  let len = 0;
  if (flags & ONE_LIVE_PART) {
    const c = content.read(dec);
    parts.push(c);
    len = content.length(c);
  } else {
    const m = dec.count();
    if (m === 0) dec.fail('BAD_VALUE', 'insert without parts');
    let live = dec.byte();
    if (live > 1) dec.fail('BAD_TAG', 'part kind');
    for (let j = 0; j < m; j++, live ^= 1) {
      const p = live ? content.read(dec) : positive(dec, dec.uint());
      len += typeof p === 'number' ? p : content.length(p);
      parts.push(p);
    }
  }
  positive(dec, seq + len);
  return { kind: 'insert', replica, seq, len, olReplica, olSeq, orReplica, orSeq, parts };
}

function readDelete(dec: Decoder, flags: number, replica: ReplicaId, seq: number): DeleteRecord {
  const count = flags & COUNT_ONE ? 1 : 2 + dec.uint();
  const len = flags & LEN_ONE ? 1 : 2 + dec.uint();
  const targetReplica = flags & OWN_TARGET ? replica : dec.replica();
  const targetSeq = positive(dec, seq - dec.int());
  const step = count === 1 ? 0 : flags & STEP_BACK ? -len : len;
  positive(dec, targetSeq + (count - 1) * step);
  positive(dec, seq + count);
  return { kind: 'delete', replica, seq, count, targetReplica, targetSeq, len, step };
}

function readUpdate(dec: Decoder, flags: number, replica: ReplicaId, seq: number): UpdateRecord {
  const targetReplica = flags & OWN_TARGET ? replica : dec.replica();
  const targetSeq = positive(dec, seq - dec.int());
  const type = dec.type(dec.byte());
  dec.enter();
  const delta = type.decodeFrom(dec);
  dec.leave();
  return { kind: 'update', replica, seq, targetReplica, targetSeq, delta };
}

function readId(dec: Decoder): [ReplicaId, number] {
  return [dec.replica(), positive(dec, dec.uint())];
}

function positive(dec: Decoder, n: number): number {
  if (!(n >= 1 && n <= Number.MAX_SAFE_INTEGER)) dec.fail('BAD_VALUE', `sequence number ${n} out of range`);
  return n;
}

/** Applies decoded records; one naming what is not an element is the input's fault: BAD_VALUE. */
export function applyDecoded<C>(dec: Decoder, seq: Sequence<C>, records: Iterable<SequenceRecord<C>>): void {
  for (const r of records) {
    try {
      seq.apply(r);
    } catch (e) {
      if (e instanceof InvalidArgumentError) dec.fail('BAD_VALUE', e.message);
      throw e;
    }
  }
}
