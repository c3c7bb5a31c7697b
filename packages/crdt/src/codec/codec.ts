import { CausalContext } from '../CausalContext.js';
import { CausalRegister } from '../CausalRegister.js';
import type { Crdt, CrdtType } from '../Crdt.js';
import { Flag } from '../Flag.js';
import { GCounter } from '../GCounter.js';
import { GSet } from '../GSet.js';
import { List } from '../List.js';
import { LWWMap } from '../LWWMap.js';
import { LWWRegister } from '../LWWRegister.js';
import { MVRegister } from '../MVRegister.js';
import { ORMap } from '../ORMap.js';
import { ORSet } from '../ORSet.js';
import { PNCounter } from '../PNCounter.js';
import { Text } from '../Text.js';
import { readTimestamp, type Timestamp, writeTimestamp } from '../Timestamp.js';
import { TwoPhaseSet } from '../TwoPhaseSet.js';
import { VersionVector } from '../VersionVector.js';
import { Decoder } from './Decoder.js';
import { Encoder } from './Encoder.js';

/** Bumped whenever a reader of this version could misread the new bytes. */
export const FORMAT_VERSION = 1;

/** Message kinds beyond the CRDT type tags (which are 1..63). */
enum Kind {
  VersionVector = 64,
  Timestamp = 65,
  CausalContext = 66,
}

/** Every CRDT type, by wire tag: the table the decoder (and ORMap's nested fields) read from. */
export const CRDT_TYPES: ReadonlyMap<number, CrdtType> = new Map(
  [
    GCounter,
    PNCounter,
    GSet,
    TwoPhaseSet,
    LWWRegister,
    LWWMap,
    Flag,
    ORSet,
    MVRegister,
    CausalRegister,
    ORMap,
    Text,
    List,
  ].map((t): [number, CrdtType] => [t.tag, t as CrdtType]),
);

function encodeWith(kind: number, write: (enc: Encoder) => void): Uint8Array {
  const enc = new Encoder();
  write(enc);
  return enc.finish(FORMAT_VERSION, kind);
}

/**
 * Runs `read` over a whole message. Readers throw only `DecodeError`; nothing else is caught
 * here, so that the fuzzer sees any other exception as the decoder bug it would be.
 */
function decodeWith<T>(
  bytes: Uint8Array,
  accept: (kind: number) => boolean,
  read: (dec: Decoder, kind: number) => T,
): T {
  const dec = new Decoder(bytes, CRDT_TYPES);
  const kind = dec.header(FORMAT_VERSION);
  if (!accept(kind)) dec.fail('BAD_TAG', `unexpected message kind ${kind}`);
  const value = read(dec, kind);
  dec.end();
  return value;
}

/** Encodes any CRDT state or delta as one self-describing message. */
export function encodeCrdt(crdt: Crdt): Uint8Array {
  const type = crdt.constructor as unknown as CrdtType;
  if (CRDT_TYPES.get(type.tag) !== type) throw new TypeError(`not a catalogue CRDT: ${type.typeName}`);
  return encodeWith(type.tag, (enc) => crdt.encodeTo(enc));
}

/** Decodes a message from `encodeCrdt`. Throws `DecodeError` for anything else. */
export function decodeCrdt(bytes: Uint8Array): Crdt;
export function decodeCrdt<T extends Crdt>(bytes: Uint8Array, type: CrdtType<T>): T;
export function decodeCrdt(bytes: Uint8Array, type?: CrdtType): Crdt {
  return decodeWith(
    bytes,
    (kind) => (type ? kind === type.tag : CRDT_TYPES.has(kind)),
    (dec, kind) => dec.type(kind).decodeFrom(dec),
  );
}

export function encodeVersionVector(vv: VersionVector): Uint8Array {
  return encodeWith(Kind.VersionVector, (enc) => vv.encodeTo(enc));
}

export function decodeVersionVector(bytes: Uint8Array): VersionVector {
  return decodeWith(
    bytes,
    (k) => k === Kind.VersionVector,
    (dec) => VersionVector.decodeFrom(dec),
  );
}

export function encodeCausalContext(ctx: CausalContext): Uint8Array {
  return encodeWith(Kind.CausalContext, (enc) => ctx.encodeTo(enc));
}

export function decodeCausalContext(bytes: Uint8Array): CausalContext {
  return decodeWith(
    bytes,
    (k) => k === Kind.CausalContext,
    (dec) => CausalContext.decodeFrom(dec),
  );
}

export function encodeTimestamp(ts: Timestamp): Uint8Array {
  return encodeWith(Kind.Timestamp, (enc) => writeTimestamp(enc, ts));
}

export function decodeTimestamp(bytes: Uint8Array): Timestamp {
  return decodeWith(bytes, (k) => k === Kind.Timestamp, readTimestamp);
}
