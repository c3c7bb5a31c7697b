import type { Crdt } from '../Crdt.js';
import type { Decoder } from '../codec/Decoder.js';
import type { Encoder } from '../codec/Encoder.js';
import type { ReplicaId } from '../ReplicaId.js';
import type { Leaf } from './RunTree.js';

/**
 * A run: consecutive elements inserted by one replica with consecutive sequence numbers, each
 * element's left origin being the element before it (so only the first needs one), all sharing
 * one right origin. Typing "hello" makes one run, not five items. A run is split only when an
 * insert lands inside it or a delete covers part of it; the pieces stay chained through
 * `nextFragment`, so an id is found from the run it was created in.
 *
 * `content` is the elements (a string for text, an array for lists), or null once deleted:
 * tombstones keep their ids and length, never their content.
 */
export class Run<C> {
  leaf!: Leaf<C>;
  nextFragment: Run<C> | null = null;

  constructor(
    readonly replica: ReplicaId,
    public seq: number,
    public len: number,
    public content: C | null,
    /** Left origin of the first element (null: the start of the sequence). */
    public olReplica: ReplicaId | null,
    public olSeq: number,
    /** Right origin of every element (null: the end of the sequence). */
    readonly orReplica: ReplicaId | null,
    readonly orSeq: number,
  ) {}

  get visible(): number {
    return this.content === null ? 0 : this.len;
  }
}

/** How the sequence handles its element containers: strings for Text, arrays for List. */
export interface Content<C> {
  length(c: C): number;
  slice(c: C, start: number, end?: number): C;
  concat(a: C, b: C): C;
  /** A copy that shares nothing mutable (List elements can be CRDTs, updated in place). */
  clone(c: C): C;
  /** Joins an element update into element `offset` of `c`; absent where elements are plain values. */
  readonly update?: (c: C, offset: number, delta: Crdt) => void;
  write(enc: Encoder, c: C): void;
  /** Reads a non-empty container. */
  read(dec: Decoder): C;
}
