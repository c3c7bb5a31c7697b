import { Causal, dotsEqual, joinDots, readDots, writeDots } from './Causal.js';
import { CausalContext } from './CausalContext.js';
import type { Decoder } from './codec/Decoder.js';
import type { Encoder } from './codec/Encoder.js';
import type { Dot } from './Dot.js';
import type { ReplicaId } from './ReplicaId.js';

/**
 * Enable-wins flag (Almeida et al. 2018, §7.1, "EWFlag"): a dot set. Enabling adds a fresh
 * dot (and drops the ones it saw); disabling drops the dots it saw. A concurrent enable has a
 * dot the disable never saw, so it survives: enable wins.
 */
export class Flag extends Causal<boolean> {
  static readonly tag = 7;
  static readonly typeName = 'Flag';
  static readonly causal = true;

  private dots: Dot[] = [];

  static empty(): Flag {
    return new Flag(new CausalContext());
  }

  static emptyIn(ctx: CausalContext): Flag {
    return new Flag(ctx);
  }

  enable(replica: ReplicaId): Flag {
    const dot = this.ctx.next(replica);
    const delta = new Flag(this.overwriteContext(dot));
    delta.dots = [dot];
    this.dots = [dot];
    return delta;
  }

  disable(): Flag {
    const delta = new Flag(this.overwriteContext());
    this.dots = [];
    return delta;
  }

  value(): boolean {
    return this.dots.length > 0;
  }

  joinStore(other: Flag, mine: CausalContext, theirs: CausalContext): void {
    this.dots = joinDots(this.dots, mine, other.dots, theirs);
  }

  isBottom(): boolean {
    return this.dots.length === 0;
  }

  collectDots(out: Dot[]): void {
    for (const d of this.dots) out.push(d);
  }

  fresh(ctx: CausalContext): this {
    return new Flag(ctx) as this;
  }

  cloneIn(ctx: CausalContext): this {
    const copy = new Flag(ctx);
    copy.dots = this.dots.slice();
    return copy as this;
  }

  storeEquals(other: Flag): boolean {
    return dotsEqual(this.dots, other.dots);
  }

  encodeStore(enc: Encoder): void {
    writeDots(enc, this.dots);
  }

  static decodeStore(dec: Decoder, ctx: CausalContext): Flag {
    const f = new Flag(ctx);
    f.dots = readDots(dec, ctx);
    return f;
  }

  static decodeFrom(dec: Decoder): Flag {
    return Flag.decodeStore(dec, CausalContext.decodeFrom(dec));
  }
}
