import { CausalContext } from './CausalContext.js';
import type { Decoder } from './codec/Decoder.js';
import type { Encoder } from './codec/Encoder.js';
import { DotFun } from './DotFun.js';
import { assertJson, type Json, readJson, writeJson } from './Json.js';
import type { ReplicaId } from './ReplicaId.js';

/**
 * Multi-value register (Shapiro et al. 2011, §3.2.2; Almeida et al. 2018, §7.3): a write
 * replaces the values it has seen; concurrent writes are all kept, and `value()` returns
 * every one of them (ordered by dot) until a later write supersedes them.
 */
export class MVRegister extends DotFun<Json, Json[]> {
  static readonly tag = 9;
  static readonly typeName = 'MVRegister';
  static readonly causal = true;

  static empty(): MVRegister {
    return new MVRegister(new CausalContext());
  }

  static emptyIn(ctx: CausalContext): MVRegister {
    return new MVRegister(ctx);
  }

  /** Writes `value` as `replica`; returns the delta. */
  set(replica: ReplicaId, value: Json): MVRegister {
    assertJson(value);
    return this.write(replica, value);
  }

  value(): Json[] {
    return this.entries.map((e) => e.value);
  }

  fresh(ctx: CausalContext): this {
    return new MVRegister(ctx) as this;
  }

  protected cloneValue(value: Json): Json {
    return value;
  }

  protected encodeValue(enc: Encoder, value: Json): void {
    writeJson(enc, value);
  }

  protected decodeValue(dec: Decoder): Json {
    return readJson(dec);
  }

  static decodeStore(dec: Decoder, ctx: CausalContext): MVRegister {
    return new MVRegister(ctx).readEntries(dec);
  }

  static decodeFrom(dec: Decoder): MVRegister {
    return MVRegister.decodeStore(dec, CausalContext.decodeFrom(dec));
  }
}
