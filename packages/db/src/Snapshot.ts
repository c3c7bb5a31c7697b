import { FORMAT_VERSION, type VersionVector, VersionVector as VV } from '@concord/crdt';
import { Decoder, Encoder, type Interner } from '@concord/crdt/internal';
import type { Doc } from './CollectionState.js';
import { deflateMessage, inflateMessage } from './Deflated.js';
import { MESSAGE_KINDS } from './messageKinds.js';
import { checkValueId, readStoredColumns, readStoredDocuments, writeStoredForms } from './StoredDocument.js';

/**
 * Every document's whole state, in stored form (its JSON and its CRDT, see StoredDocument), and
 * the version they stand for: what a peer behind the compaction horizon (or a fresh one)
 * receives instead of the log, and a database's encoded form. Stored forms are what a database
 * keeps, so taking a snapshot decodes nothing, and applying one to a replica that lacks its
 * documents decodes only their JSON (seed 000: a store loads the catalogue to print labels).
 */
export interface Snapshot {
  readonly kind: 'snapshot';
  readonly version: VersionVector;
  /** `value`: the stored form's JSON, parsed already (decoded snapshots have it; undefined when removed). */
  readonly docs: ReadonlyArray<{
    collection: string;
    id: string;
    stored: Uint8Array;
    value?: Doc | undefined;
  }>;
}

const SNAPSHOT = MESSAGE_KINDS.snapshot;
const COLUMN_SNAPSHOT = MESSAGE_KINDS.columnSnapshot;

/**
 * Encodes a snapshot as one message: the version, each document's collection and id, then the
 * stored forms one after another, as a sync chunk carries them (`writeStoredForms`), deflated.
 */
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
  }
  writeStoredForms(
    enc,
    s.docs.map((d) => d.stored),
  );
  return deflateMessage(enc.finish(FORMAT_VERSION, SNAPSHOT));
}

/**
 * Decodes `encodeSnapshot`'s output; throws `DecodeError` for anything malformed or hostile in
 * the message's structure. A document's CRDT state is decoded when a replica that already has the
 * document joins it, or when one that adopted it first writes to it.
 */
export function decodeSnapshot(bytes: Uint8Array, interner?: Interner): Snapshot {
  const dec = new Decoder(inflateMessage(bytes), undefined, interner);
  const kind = dec.header(FORMAT_VERSION);
  if (kind !== SNAPSHOT && kind !== COLUMN_SNAPSHOT)
    dec.fail('BAD_TAG', `expected a snapshot, got message kind ${kind}`);
  const version = VV.decodeFrom(dec);
  const n = dec.count(5);
  const collections: string[] = [];
  const ids: string[] = [];
  let collection = '';
  for (let i = 0; i < n; i++) {
    const flag = dec.byte();
    if (flag === 1) collection = dec.string();
    else if (flag !== 0 || i === 0) dec.fail('BAD_VALUE', 'bad collection marker');
    const id = dec.string();
    if (collection.length === 0 || id.length === 0) dec.fail('BAD_VALUE', 'empty collection or document id');
    collections.push(collection);
    ids.push(id);
  }
  const { stored, values } = kind === SNAPSHOT ? readStoredDocuments(dec, n) : readStoredColumns(dec, n);
  dec.end();
  const docs: Array<{ collection: string; id: string; stored: Uint8Array; value?: Doc | undefined }> = [];
  for (let i = 0; i < n; i++) {
    checkValueId(dec, values[i], ids[i]!);
    docs.push({ collection: collections[i]!, id: ids[i]!, stored: stored[i]!, value: values[i] });
  }
  return { kind: 'snapshot', version, docs };
}
