import type { Decoder } from './codec/Decoder.js';
import type { Encoder } from './codec/Encoder.js';
import type { ReplicaId } from './ReplicaId.js';

/**
 * A hybrid logical clock timestamp (Kulkarni et al., "Logical Physical Clocks", OPODIS 2014):
 * `wall` is milliseconds of physical time, `logical` counts events within the same millisecond,
 * and `replica` breaks the remaining ties so that timestamps are totally ordered.
 */
export interface Timestamp {
  readonly wall: number;
  readonly logical: number;
  readonly replica: ReplicaId;
}

export function compareTimestamps(a: Timestamp, b: Timestamp): number {
  if (a.wall !== b.wall) return a.wall < b.wall ? -1 : 1;
  if (a.logical !== b.logical) return a.logical < b.logical ? -1 : 1;
  if (a.replica === b.replica) return 0;
  return a.replica < b.replica ? -1 : 1;
}

export function writeTimestamp(enc: Encoder, ts: Timestamp): void {
  enc.wall(ts.wall);
  enc.uint(ts.logical);
  enc.replica(ts.replica);
}

export function readTimestamp(dec: Decoder): Timestamp {
  return { wall: dec.wall(), logical: dec.uint(), replica: dec.replica() };
}
