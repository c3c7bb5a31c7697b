import { Causal, checkDot, joinDotEntries } from './Causal.js';
import { CausalContext } from './CausalContext.js';
import type { Decoder } from './codec/Decoder.js';
import type { Encoder } from './codec/Encoder.js';
import { compareDots, type Dot } from './Dot.js';
import { assertJson, type Json, readJson, writeJson } from './Json.js';
import type { ReplicaId } from './ReplicaId.js';
import { compareTimestamps, type Timestamp } from './Timestamp.js';

/**
 * One write. Its dot is `(replica, seq)` and its timestamp `(wall, logical, replica)`: the
 * writer stamps a write with its own clock, so both name the same replica, and one flat object
 * serves as the dot, the timestamp and the value (a catalogue holds a register per field of
 * every document: four objects per write would be most of its memory).
 */
interface Write extends Dot, Timestamp {
  readonly value: Json;
}

const same = (w: Write): Write => w;
const isWrite = (h: Write | readonly Write[]): h is Write => !Array.isArray(h);

/**
 * Causal last-writer-wins register (seed 001; the register of Ditto's documents). Causality
 * decides first: a write replaces every write it has seen (its dot's context covers theirs),
 * whatever the clocks say. Only writes that are truly concurrent are ordered, by their hybrid
 * logical clock timestamp and then replica id, so the winner matches what people expect from
 * wall-clock time. The concurrent losers stay readable through `conflicts()` until a later
 * write, which has seen them, replaces them all.
 *
 * The store is a DotFun (Almeida et al. 2018, §7.3) from each live write's dot to the write.
 */
export class CausalRegister extends Causal<Json | undefined> {
  static readonly tag = 10;
  static readonly typeName = 'CausalRegister';
  static readonly causal = true;

  /**
   * The live writes, sorted by dot: none, one (held as is: a catalogue has a register per field
   * of every document, and an array around each single write would cost more than the write),
   * or several while writes are concurrent.
   */
  private held: Write | readonly Write[] | undefined;

  private get writes(): readonly Write[] {
    const h = this.held;
    return h === undefined ? [] : isWrite(h) ? [h] : h;
  }

  private set writes(ws: readonly Write[]) {
    this.held = ws.length === 0 ? undefined : ws.length === 1 ? ws[0] : ws;
  }

  static empty(): CausalRegister {
    return new CausalRegister(new CausalContext());
  }

  static emptyIn(ctx: CausalContext): CausalRegister {
    return new CausalRegister(ctx);
  }

  /** Writes `value` stamped `ts` (from the writer's `HybridLogicalClock.now()`); returns the delta. */
  set(ts: Timestamp, value: Json): CausalRegister {
    assertJson(value);
    const dot = this.ctx.next(ts.replica);
    const write: Write = { replica: ts.replica, seq: dot.seq, wall: ts.wall, logical: ts.logical, value };
    const delta = new CausalRegister(this.overwriteContext(dot));
    delta.held = write;
    this.held = write;
    return delta;
  }

  /** Removes every write seen so far; returns the delta. */
  clear(): CausalRegister {
    const delta = new CausalRegister(this.overwriteContext());
    this.held = undefined;
    return delta;
  }

  /** The winning value: the greatest timestamp among the concurrent writes. */
  value(): Json | undefined {
    return this.winner()?.value;
  }

  timestamp(): Timestamp | undefined {
    const w = this.winner();
    return w && { wall: w.wall, logical: w.logical, replica: w.replica };
  }

  /** The concurrent writes that lost, newest first. Empty when there is no conflict. */
  conflicts(): Array<{ value: Json; ts: Timestamp }> {
    const winner = this.winner();
    return this.writes
      .filter((w) => w !== winner)
      .sort((a, b) => compareTimestamps(b, a))
      .map((w) => ({ value: w.value, ts: { wall: w.wall, logical: w.logical, replica: w.replica } }));
  }

  private winner(): Write | undefined {
    const h = this.held;
    if (h === undefined || isWrite(h)) return h;
    const ws = h;
    let best = ws[0];
    for (let i = 1; i < ws.length; i++) if (compareTimestamps(ws[i]!, best!) > 0) best = ws[i];
    return best;
  }

  joinStore(other: this, mine: CausalContext, theirs: CausalContext): void {
    const h = this.held;
    const o = other.held;
    // The cases of almost every join, without building arrays: one side empty, the other one write.
    if (o === undefined) this.dropSeen(theirs);
    else if (h === undefined && isWrite(o)) {
      if (!mine.contains(o)) this.held = o;
    } else if (!(h !== undefined && isWrite(h) && isWrite(o) && compareDots(h, o) === 0)) {
      // Writes are immutable, so both sides may hold the same object.
      this.writes = joinDotEntries(this.writes, mine, other.writes, theirs, same, same);
    }
  }

  override dropSeen(theirs: CausalContext): void {
    const h = this.held;
    if (h === undefined) return;
    if (isWrite(h)) {
      if (theirs.contains(h)) this.held = undefined;
    } else this.writes = h.filter((w) => !theirs.contains(w));
  }

  isBottom(): boolean {
    return this.held === undefined;
  }

  collectDots(out: Dot[]): void {
    for (const w of this.writes) out.push(w);
  }

  fresh(ctx: CausalContext): this {
    return new CausalRegister(ctx) as this;
  }

  cloneIn(ctx: CausalContext): this {
    const copy = new CausalRegister(ctx);
    copy.held = this.held;
    return copy as this;
  }

  /** A dot names one write, so equal dots mean equal writes. */
  storeEquals(other: this): boolean {
    if (this.writes.length !== other.writes.length) return false;
    for (let i = 0; i < this.writes.length; i++)
      if (compareDots(this.writes[i]!, other.writes[i]!) !== 0) return false;
    return true;
  }

  /** Per write: replica, seq, wall clock (delta-coded), logical counter, value. */
  encodeStore(enc: Encoder): void {
    enc.uint(this.writes.length);
    for (const w of this.writes) {
      enc.replica(w.replica);
      enc.uint(w.seq);
      enc.wall(w.wall);
      enc.uint(w.logical);
      writeJson(enc, w.value);
    }
  }

  static decodeStore(dec: Decoder, ctx: CausalContext): CausalRegister {
    const r = new CausalRegister(ctx);
    const n = dec.count(5);
    const writes: Write[] = [];
    for (let i = 0; i < n; i++) {
      const replica: ReplicaId = dec.replica();
      const seq = dec.uint();
      if (seq === 0) dec.fail('BAD_VALUE', 'dot sequence numbers start at 1');
      const write: Write = { replica, seq, wall: dec.wall(), logical: dec.uint(), value: readJson(dec) };
      checkDot(dec, ctx, writes[writes.length - 1], write);
      writes.push(write);
    }
    r.writes = writes;
    return r;
  }

  static decodeFrom(dec: Decoder): CausalRegister {
    return CausalRegister.decodeStore(dec, CausalContext.decodeFrom(dec));
  }
}
