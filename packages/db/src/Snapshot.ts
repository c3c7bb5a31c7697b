import {
  CRDT_TYPES,
  Decoder,
  Encoder,
  FORMAT_VERSION,
  ORMap,
  type VersionVector,
  VersionVector as VV,
} from '@concord/crdt';
import { deflateMessage, inflateMessage } from './Deflated.js';

/**
 * Every document's whole CRDT state and the version they stand for: what a peer behind the
 * compaction horizon (or a fresh one) receives instead of the log, and a database's encoded form.
 */
export interface Snapshot {
  readonly kind: 'snapshot';
  readonly version: VersionVector;
  readonly docs: ReadonlyArray<{ collection: string; id: string; state: ORMap }>;
}

/** Message kind of a snapshot: the database's kinds are 97–99 and 111 (the change batch). */
const SNAPSHOT = 97;

/** Encodes a snapshot as one message: one replica table for all documents. */
export function encodeSnapshot(s: Snapshot): Uint8Array {
  const enc = new Encoder();
  s.version.encodeTo(enc);
  enc.uint(s.docs.length);
  let collection: string | undefined;
  for (const d of s.docs) {
    // Documents come grouped by collection: its name is written only where it changes.
    if (d.collection !== collection) {
      enc.byte(1);
      enc.string(d.collection);
      collection = d.collection;
    } else enc.byte(0);
    enc.string(d.id);
    d.state.encodeTo(enc);
  }
  return deflateMessage(enc.finish(FORMAT_VERSION, SNAPSHOT));
}

/** Decodes `encodeSnapshot`'s output; throws `DecodeError` for anything malformed or hostile. */
export function decodeSnapshot(bytes: Uint8Array): Snapshot {
  const dec = new Decoder(inflateMessage(bytes), CRDT_TYPES);
  const kind = dec.header(FORMAT_VERSION);
  if (kind !== SNAPSHOT) dec.fail('BAD_TAG', `expected a snapshot, got message kind ${kind}`);
  const version = VV.decodeFrom(dec);
  const n = dec.count(3);
  const docs: Array<{ collection: string; id: string; state: ORMap }> = [];
  let collection = '';
  for (let i = 0; i < n; i++) {
    const flag = dec.byte();
    if (flag === 1) collection = dec.string();
    else if (flag !== 0 || i === 0) dec.fail('BAD_VALUE', 'bad collection marker');
    const id = dec.string();
    if (collection.length === 0 || id.length === 0) dec.fail('BAD_VALUE', 'empty collection or document id');
    docs.push({ collection, id, state: ORMap.decodeFrom(dec) });
  }
  dec.end();
  return { kind: 'snapshot', version, docs };
}
