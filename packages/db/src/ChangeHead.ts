import type { Timestamp } from '@concord/crdt';
import { type Decoder, type Encoder, readTimestamp, writeTimestamp } from '@concord/crdt/internal';
import type { Change } from './Change.js';

/** What names a change and says where it applies: everything but its ops. */
export type ChangeHead = Pick<Change, 'dot' | 'hlc' | 'collection' | 'docId'>;

/**
 * Writes a change's head: replica, sequence number as its difference from `prevSeq` (the
 * previous change of that replica in the message, 0 if none: consecutive changes take a byte),
 * timestamp, collection, document id. A change batch and a logged new document share it.
 */
export function writeChangeHead(enc: Encoder, c: ChangeHead, prevSeq: number): void {
  enc.replica(c.dot.replica);
  enc.int(c.dot.seq - prevSeq);
  writeTimestamp(enc, c.hlc);
  enc.string(c.collection);
  enc.string(c.docId);
}

/** Reads what `writeChangeHead` wrote, checking it; `prevSeq` gives the previous sequence number of a replica. */
export function readChangeHead(
  dec: Decoder,
  prevSeq: (replica: ChangeHead['dot']['replica']) => number,
): ChangeHead {
  const replica = dec.replica();
  const seq = prevSeq(replica) + dec.int();
  if (!Number.isSafeInteger(seq) || seq < 1) dec.fail('BAD_VALUE', `dot sequence number ${seq}`);
  const hlc: Timestamp = readTimestamp(dec);
  const collection = dec.string();
  const docId = dec.string();
  if (collection.length === 0 || docId.length === 0) dec.fail('BAD_VALUE', 'empty collection or document id');
  return { dot: { replica, seq }, hlc, collection, docId };
}
