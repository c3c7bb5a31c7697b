import type { Crdt } from './Crdt.js';
import type { Decoder } from './codec/Decoder.js';
import type { Encoder } from './codec/Encoder.js';
import { InvalidArgumentError } from './errors.js';
import type { ReplicaId } from './ReplicaId.js';
import type { Content } from './sequence/Run.js';
import { applyDecoded, readRecords, writeRecords } from './sequence/recordCodec.js';
import type { SequenceRecord } from './sequence/records.js';
import { type Anchor, Sequence } from './sequence/Sequence.js';
import { sameSequence } from './sequence/sameSequence.js';
import { VersionVector } from './VersionVector.js';

const SURROGATE = /[\uD800-\uDFFF]/;

const STRING: Content<string> = {
  length: (s) => s.length,
  slice: (s, start, end) => s.slice(start, end),
  concat: (a, b) => a + b,
  clone: (s) => s,
  write: (enc, s) => enc.string(s),
  read: (dec) => {
    const s = dec.string();
    if (s.length === 0) dec.fail('BAD_VALUE', 'empty text part');
    return s;
  },
};

/**
 * Collaborative text: a replicated sequence of UTF-16 code units (positions are JavaScript
 * string offsets), with concurrent insertions that never interleave (see `Sequence`). Edits
 * return deltas like every type here; `deltaSince(version)` gives exactly what a replica at
 * that version lacks.
 */
export class Text implements Crdt<string> {
  static readonly tag = 12;
  static readonly typeName = 'Text';
  static readonly causal = false;

  /**
   * Whether any content ever seen holds a UTF-16 surrogate. Until then no position can split a
   * pair, and edits skip the boundary check (two tree lookups per keystroke).
   */
  private surrogates = false;

  private constructor(private readonly seq = new Sequence(STRING)) {}

  private noteContent(records: Iterable<SequenceRecord<string>>): void {
    if (this.surrogates) return;
    for (const r of records) {
      if (r.kind === 'insert')
        for (const p of r.parts) if (typeof p === 'string' && SURROGATE.test(p)) this.surrogates = true;
    }
  }

  static empty(): Text {
    return new Text();
  }

  get length(): number {
    return this.seq.length;
  }

  /** Inserts `text` at `pos` as `replica`; returns the delta. */
  insert(replica: ReplicaId, pos: number, text: string): Text {
    if (text.length === 0) return new Text();
    this.checkBoundary(pos);
    if (SURROGATE.test(text)) this.surrogates = true;
    return Text.delta([this.seq.insert(replica, pos, text)]);
  }

  /** Deletes `len` code units from `pos` as `replica`; returns the delta. */
  delete(replica: ReplicaId, pos: number, len: number): Text {
    this.checkBoundary(pos);
    this.checkBoundary(pos + len);
    return Text.delta(this.seq.delete(replica, pos, len));
  }

  /** Refuses positions between the halves of a surrogate pair: an edit there would corrupt the character. */
  private checkBoundary(pos: number): void {
    if (!this.surrogates || pos <= 0 || pos >= this.length) return;
    const before = this.charCodeAt(pos - 1);
    if (before >= 0xd800 && before <= 0xdbff) {
      const after = this.charCodeAt(pos);
      if (after >= 0xdc00 && after <= 0xdfff) {
        throw new InvalidArgumentError('SPLITS_SURROGATE', `position ${pos} splits a surrogate pair`);
      }
    }
  }

  private charCodeAt(pos: number): number {
    const { run, offset } = this.seq.tree.findVisible(pos);
    return run.content!.charCodeAt(offset);
  }

  /** A cursor position that stays attached across concurrent edits: see `resolve`. */
  anchor(pos: number, assoc: 'before' | 'after' = 'after'): Anchor {
    return this.seq.anchor(pos, assoc);
  }

  /** Where an anchor is now, in code units. */
  resolve(anchor: Anchor): number {
    return this.seq.resolve(anchor);
  }

  value(): string {
    let out = '';
    for (const run of this.seq.tree) if (run.content !== null) out += run.content;
    return out;
  }

  toString(): string {
    return this.value();
  }

  /** What this replica has seen, insertions and deletions alike. */
  version(): VersionVector {
    return this.seq.vv.clone();
  }

  /** A delta holding everything a replica at `version` lacks. */
  deltaSince(version: VersionVector): Text {
    return Text.delta(this.seq.recordsSince(version));
  }

  join(other: Text): this {
    const records = [...other.seq.recordsSince(this.seq.vv)];
    this.noteContent(records);
    for (const r of records) this.seq.apply(r);
    return this;
  }

  clone(): this {
    const copy = new Text(this.seq.clone());
    copy.surrogates = this.surrogates;
    return copy as this;
  }

  equals(other: Text): boolean {
    return (
      this.seq.vv.equals(other.seq.vv) &&
      this.seq.pendingCount === other.seq.pendingCount &&
      sameSequence(this.seq.tree, other.seq.tree)
    );
  }

  encodeTo(enc: Encoder): void {
    writeRecords(enc, STRING, this.seq.recordsSince(new VersionVector()));
  }

  static decodeFrom(dec: Decoder): Text {
    const text = new Text();
    const records = readRecords(dec, STRING);
    text.noteContent(records);
    applyDecoded(dec, text.seq, records);
    return text;
  }

  /** A delta: a Text holding just these records (integrated where they can be, else pending). */
  private static delta(records: Iterable<SequenceRecord<string>>): Text {
    const d = new Text();
    const list = [...records];
    d.noteContent(list);
    for (const r of list) d.seq.apply(r);
    return d;
  }
}
