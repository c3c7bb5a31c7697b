import { Causal, checkDot, joinDotEntries } from './Causal.js';
import { CausalContext } from './CausalContext.js';
import type { Decoder } from './codec/Decoder.js';
import type { Encoder } from './codec/Encoder.js';
import { compareDots, type Dot } from './Dot.js';
import { InvalidArgumentError } from './errors.js';
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
/** Wall clocks are held as `high * WALL_SPLIT + low`, two small integers. */
const WALL_SPLIT = 2 ** 24;

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

  // The live writes, sorted by dot. Almost always there is one, and a catalogue holds a
  // register per field of every document, so that one is held in these fields rather than as an
  // object of its own (two small integers for the wall clock: a double field would be a heap
  // number of its own). While writes are concurrent, `several` holds them all instead.
  private replica: ReplicaId | undefined = undefined;
  private seq = 0;
  private wallHigh = 0;
  private wallLow = 0;
  private logical = 0;
  private held: Json = null;
  private several: readonly Write[] | undefined = undefined;

  private get writes(): readonly Write[] {
    if (this.several) return this.several;
    const w = this.single();
    return w ? [w] : [];
  }

  private set writes(ws: readonly Write[]) {
    this.several = ws.length > 1 ? ws : undefined;
    this.hold(ws.length === 1 ? ws[0] : undefined);
  }

  /** The one live write, when there is exactly one. */
  private single(): Write | undefined {
    if (this.replica === undefined) return undefined;
    const wall = this.wallHigh * WALL_SPLIT + this.wallLow;
    return { replica: this.replica, seq: this.seq, wall, logical: this.logical, value: this.held };
  }

  private hold(w: Write | undefined): void {
    this.replica = w?.replica;
    if (!w) {
      this.held = null;
      return;
    }
    this.seq = w.seq;
    // Walls are whole milliseconds (checked in `set`, integers on the wire); `| 0` keeps the low
    // part a small integer, where `%` of a double would give a heap number.
    this.wallHigh = Math.floor(w.wall / WALL_SPLIT);
    this.wallLow = (w.wall % WALL_SPLIT) | 0;
    this.logical = w.logical;
    this.held = w.value;
  }

  private copyFrom(other: CausalRegister): void {
    this.replica = other.replica;
    this.seq = other.seq;
    this.wallHigh = other.wallHigh;
    this.wallLow = other.wallLow;
    this.logical = other.logical;
    this.held = other.held;
    this.several = other.several;
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
    checkWall(ts);
    const dot = this.ctx.next(ts.replica);
    const write: Write = { replica: ts.replica, seq: dot.seq, wall: ts.wall, logical: ts.logical, value };
    const delta = new CausalRegister(this.overwriteContext(dot));
    delta.hold(write);
    this.writes = [write];
    return delta;
  }

  /**
   * The register that `set(ts, value)` on an empty register bound to `ctx` leaves, given the dot
   * `seq` that `ctx` already recorded for it (see `ORMap.setRegisters`). Checks nothing: the
   * caller has checked the value and the timestamp.
   */
  static written(ctx: CausalContext, seq: number, ts: Timestamp, value: Json): CausalRegister {
    const r = new CausalRegister(ctx);
    r.replica = ts.replica;
    r.seq = seq;
    r.wallHigh = Math.floor(ts.wall / WALL_SPLIT);
    r.wallLow = (ts.wall % WALL_SPLIT) | 0;
    r.logical = ts.logical;
    r.held = value;
    return r;
  }

  /**
   * The timestamp of the write `written(ctx, seq, ts, value)` made, when that write — dot `seq`
   * of its replica, holding `value` itself — is this register's only one; undefined otherwise
   * (see `ORMap.writtenAt`).
   */
  writtenAt(seq: number, value: unknown): Timestamp | undefined {
    if (this.several || this.replica === undefined || this.seq !== seq || this.held !== value)
      return undefined;
    return { wall: this.wallHigh * WALL_SPLIT + this.wallLow, logical: this.logical, replica: this.replica };
  }

  /** Removes every write seen so far; returns the delta. */
  clear(): CausalRegister {
    const delta = new CausalRegister(this.overwriteContext());
    this.writes = [];
    return delta;
  }

  /** The winning value: the greatest timestamp among the concurrent writes. */
  value(): Json | undefined {
    if (!this.several) return this.replica === undefined ? undefined : this.held;
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
      .filter((w) => compareDots(w, winner!) !== 0)
      .sort((a, b) => compareTimestamps(b, a))
      .map((w) => ({ value: w.value, ts: { wall: w.wall, logical: w.logical, replica: w.replica } }));
  }

  private winner(): Write | undefined {
    const ws = this.several;
    if (!ws) return this.single();
    let best = ws[0];
    for (let i = 1; i < ws.length; i++) if (compareTimestamps(ws[i]!, best!) > 0) best = ws[i];
    return best;
  }

  joinStore(other: this, mine: CausalContext, theirs: CausalContext): void {
    // The cases of almost every join, without building arrays: one side empty, the other one write.
    if (other.isBottom()) this.dropSeen(theirs);
    else if (this.isBottom() && !other.several) {
      if (!mine.contains({ replica: other.replica!, seq: other.seq })) this.copyFrom(other);
    } else if (this.several || other.several || this.replica !== other.replica || this.seq !== other.seq) {
      // Writes are immutable, so both sides may hold the same object.
      this.writes = joinDotEntries(this.writes, mine, other.writes, theirs, same, same);
    }
  }

  override dropSeen(theirs: CausalContext): void {
    if (this.several) this.writes = this.several.filter((w) => !theirs.contains(w));
    else if (this.replica !== undefined && theirs.contains({ replica: this.replica, seq: this.seq }))
      this.hold(undefined);
  }

  isBottom(): boolean {
    return this.replica === undefined && this.several === undefined;
  }

  collectDots(out: Dot[]): void {
    if (this.several) for (const w of this.several) out.push(w);
    else if (this.replica !== undefined) out.push({ replica: this.replica, seq: this.seq });
  }

  fresh(ctx: CausalContext): this {
    return new CausalRegister(ctx) as this;
  }

  cloneIn(ctx: CausalContext): this {
    const copy = new CausalRegister(ctx);
    copy.copyFrom(this);
    return copy as this;
  }

  /** A dot names one write, so equal dots mean equal writes. */
  storeEquals(other: this): boolean {
    const a = this.writes;
    const b = other.writes;
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (compareDots(a[i]!, b[i]!) !== 0) return false;
    return true;
  }

  /** Per write: replica, seq, wall clock (delta-coded), logical counter, value. */
  encodeStore(enc: Encoder): void {
    if (!this.several) {
      // The one write, from the fields that hold it (no Write object to build).
      if (this.replica === undefined) enc.uint(0);
      else
        CausalRegister.encodeOne(
          enc,
          this.replica,
          this.seq,
          this.wallHigh * WALL_SPLIT + this.wallLow,
          this.logical,
          this.held,
        );
      return;
    }
    const ws = this.several;
    enc.uint(ws.length);
    for (const w of ws) {
      enc.replica(w.replica);
      enc.uint(w.seq);
      enc.wall(w.wall);
      enc.uint(w.logical);
      writeJson(enc, w.value);
    }
  }

  /** What `encodeStore` writes for a register holding one write: its dot, timestamp and value. */
  static encodeOne(
    enc: Encoder,
    replica: ReplicaId,
    seq: number,
    wall: number,
    logical: number,
    value: Json,
  ): void {
    enc.uint(1);
    enc.replica(replica);
    enc.uint(seq);
    enc.wall(wall);
    enc.uint(logical);
    writeJson(enc, value);
  }

  static decodeStore(dec: Decoder, ctx: CausalContext): CausalRegister {
    const r = new CausalRegister(ctx);
    const n = dec.count(5);
    // One write, almost always: held without the array.
    if (n === 1) {
      r.hold(readWrite(dec, ctx, undefined));
      return r;
    }
    const writes: Write[] = [];
    for (let i = 0; i < n; i++) writes.push(readWrite(dec, ctx, writes[writes.length - 1]));
    r.writes = writes;
    return r;
  }

  static decodeFrom(dec: Decoder): CausalRegister {
    return CausalRegister.decodeStore(dec, CausalContext.decodeFrom(dec));
  }
}

/** Throws `BAD_TIMESTAMP` unless `ts` is in whole milliseconds, as registers hold it. */
export function checkWall(ts: Timestamp): void {
  if (!Number.isSafeInteger(ts.wall) || ts.wall < 0)
    throw new InvalidArgumentError('BAD_TIMESTAMP', `wall clock ${ts.wall} is not whole milliseconds`);
}

/** One write of a register's store, checked against the one before it and the context. */
function readWrite(dec: Decoder, ctx: CausalContext, prev: Write | undefined): Write {
  const replica: ReplicaId = dec.replica();
  const seq = dec.uint();
  if (seq === 0) dec.fail('BAD_VALUE', 'dot sequence numbers start at 1');
  const write: Write = { replica, seq, wall: dec.wall(), logical: dec.uint(), value: readJson(dec) };
  checkDot(dec, ctx, prev, write);
  return write;
}
