import {
  CausalContext,
  ClockDriftError,
  compareTimestamps,
  HybridLogicalClock,
  replicaId,
  VersionVector,
} from '@concord/crdt';
import { describe, expect, it } from 'vitest';

const A = replicaId('a');
const B = replicaId('b');

describe('HybridLogicalClock', () => {
  it('ticks with physical time and counts events within one millisecond', () => {
    let t = 100;
    const clock = new HybridLogicalClock(A, { now: () => t });
    expect(clock.now()).toEqual({ wall: 100, logical: 0, replica: A });
    expect(clock.now()).toEqual({ wall: 100, logical: 1, replica: A });
    t = 105;
    expect(clock.now()).toEqual({ wall: 105, logical: 0, replica: A });
  });

  it('never goes backwards when physical time does', () => {
    let t = 500;
    const clock = new HybridLogicalClock(A, { now: () => t });
    const first = clock.now();
    t = 200;
    const second = clock.now();
    expect(compareTimestamps(second, first)).toBe(1);
    expect(second.wall).toBe(500);
  });

  it('receive takes the max of local, remote and physical time, so causally later is greater', () => {
    let t = 100;
    const a = new HybridLogicalClock(A, { now: () => t });
    const b = new HybridLogicalClock(B, { now: () => 50 }); // b's clock lags behind
    const sent = a.now();
    const received = b.receive(sent);
    expect(compareTimestamps(received, sent)).toBe(1);
    expect(compareTimestamps(b.now(), sent)).toBe(1);
    t = 1000;
    const r2 = a.receive(b.now());
    expect(r2.wall).toBe(1000); // physical time ahead of both: it wins
  });

  it('refuses a remote timestamp beyond the allowed drift, and changes nothing', () => {
    const clock = new HybridLogicalClock(A, { now: () => 1_000, maxDriftMs: 500 });
    const before = clock.peek();
    const error = (() => {
      try {
        clock.receive({ wall: 1_501, logical: 0, replica: B });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ClockDriftError);
    expect((error as ClockDriftError).code).toBe('CLOCK_DRIFT');
    expect(clock.peek()).toEqual(before);
    expect(() => clock.receive({ wall: 1_500, logical: 0, replica: B })).not.toThrow();
  });

  it('orders timestamps totally, replica id breaking ties', () => {
    expect(compareTimestamps({ wall: 1, logical: 0, replica: A }, { wall: 1, logical: 0, replica: B })).toBe(
      -1,
    );
    expect(compareTimestamps({ wall: 1, logical: 1, replica: A }, { wall: 1, logical: 0, replica: B })).toBe(
      1,
    );
    expect(compareTimestamps({ wall: 2, logical: 0, replica: A }, { wall: 1, logical: 9, replica: B })).toBe(
      1,
    );
  });
});

describe('VersionVector', () => {
  const vv = (a: number, b: number) =>
    new VersionVector([
      [A, a],
      [B, b],
    ]);

  it('compares as before / after / equal / concurrent', () => {
    expect(vv(1, 2).compare(vv(2, 2))).toBe('before');
    expect(vv(3, 2).compare(vv(2, 2))).toBe('after');
    expect(vv(2, 2).compare(vv(2, 2))).toBe('equal');
    expect(vv(3, 1).compare(vv(2, 2))).toBe('concurrent');
    expect(new VersionVector().compare(vv(0, 1))).toBe('before');
    expect(vv(0, 0).compare(new VersionVector())).toBe('equal');
  });

  it('merges to the pointwise maximum', () => {
    expect(vv(3, 1).merge(vv(2, 5)).toJSON()).toEqual({ a: 3, b: 5 });
  });
});

describe('CausalContext', () => {
  it('keeps gaps in the dot cloud and compacts them into the vector once filled', () => {
    const ctx = CausalContext.of([
      { replica: A, seq: 1 },
      { replica: A, seq: 3 },
      { replica: A, seq: 4 },
    ]);
    expect(ctx.vv.get(A)).toBe(1);
    expect(ctx.cloudDots()).toEqual([
      { replica: A, seq: 3 },
      { replica: A, seq: 4 },
    ]);
    expect(ctx.contains({ replica: A, seq: 2 })).toBe(false);
    expect(ctx.contains({ replica: A, seq: 4 })).toBe(true);
    ctx.merge(CausalContext.of([{ replica: A, seq: 2 }]));
    expect(ctx.vv.get(A)).toBe(4);
    expect(ctx.cloudDots()).toEqual([]);
  });

  it('next() issues the dot after every dot seen of that replica', () => {
    const ctx = CausalContext.of([{ replica: A, seq: 7 }]);
    expect(ctx.next(A)).toEqual({ replica: A, seq: 8 });
    expect(ctx.next(B)).toEqual({ replica: B, seq: 1 });
  });
});
