import { CausalContext } from './CausalContext.js';
import type { Decoder } from './codec/Decoder.js';
import type { Encoder } from './codec/Encoder.js';
import { DotFun } from './DotFun.js';
import { assertJson, type Json, readJson, writeJson } from './Json.js';
import { compareTimestamps, readTimestamp, type Timestamp, writeTimestamp } from './Timestamp.js';

interface Write {
  readonly value: Json;
  readonly ts: Timestamp;
}

/**
 * Causal last-writer-wins register (seed 001; the register of Ditto's documents). Causality
 * decides first: a write replaces every write it has seen (its dot's context covers theirs),
 * whatever the clocks say. Only writes that are truly concurrent are ordered, by their hybrid
 * logical clock timestamp and then replica id, so the winner matches what people expect from
 * wall-clock time. The concurrent losers stay readable through `conflicts()` until a later
 * write, which has seen them, replaces them all.
 */
export class CausalRegister extends DotFun<Write, Json | undefined> {
  static readonly tag = 10;
  static readonly typeName = 'CausalRegister';
  static readonly causal = true;

  static empty(): CausalRegister {
    return new CausalRegister(new CausalContext());
  }

  static emptyIn(ctx: CausalContext): CausalRegister {
    return new CausalRegister(ctx);
  }

  /** Writes `value` stamped `ts` (from the writer's `HybridLogicalClock.now()`); returns the delta. */
  set(ts: Timestamp, value: Json): CausalRegister {
    assertJson(value);
    return this.write(ts.replica, { value, ts });
  }

  /** The winning value: the greatest timestamp among the concurrent writes. */
  value(): Json | undefined {
    return this.winner()?.value;
  }

  timestamp(): Timestamp | undefined {
    return this.winner()?.ts;
  }

  /** The concurrent writes that lost, newest first. Empty when there is no conflict. */
  conflicts(): Array<{ value: Json; ts: Timestamp }> {
    const winner = this.winner();
    return this.entries
      .map((e) => e.value)
      .filter((w) => w !== winner)
      .sort((a, b) => compareTimestamps(b.ts, a.ts));
  }

  private winner(): Write | undefined {
    let best: Write | undefined;
    for (const { value } of this.entries) if (!best || compareTimestamps(value.ts, best.ts) > 0) best = value;
    return best;
  }

  fresh(ctx: CausalContext): this {
    return new CausalRegister(ctx) as this;
  }

  protected cloneValue(value: Write): Write {
    return value;
  }

  protected encodeValue(enc: Encoder, value: Write): void {
    writeTimestamp(enc, value.ts);
    writeJson(enc, value.value);
  }

  protected decodeValue(dec: Decoder): Write {
    const ts = readTimestamp(dec);
    return { ts, value: readJson(dec) };
  }

  static decodeStore(dec: Decoder, ctx: CausalContext): CausalRegister {
    return new CausalRegister(ctx).readEntries(dec);
  }

  static decodeFrom(dec: Decoder): CausalRegister {
    return CausalRegister.decodeStore(dec, CausalContext.decodeFrom(dec));
  }
}
