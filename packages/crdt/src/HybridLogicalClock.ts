import { ClockDriftError } from './errors.js';
import type { ReplicaId } from './ReplicaId.js';
import type { Timestamp } from './Timestamp.js';

export interface ClockOptions {
  /** Physical time in milliseconds. Injected so tests control it; defaults to `Date.now`. */
  readonly now?: () => number;
  /** A remote timestamp more than this far ahead of local physical time is refused. */
  readonly maxDriftMs?: number;
}

/** Five minutes: wide enough for a store device with a poorly set clock, narrow enough to stop a runaway one. */
export const DEFAULT_MAX_DRIFT_MS = 5 * 60_000;

/**
 * Hybrid logical clock (Kulkarni, Demirbas et al., OPODIS 2014). Timestamps stay close to
 * physical time, yet every event that causally follows another gets a greater timestamp —
 * even when physical clocks disagree — because the clock never goes below the greatest
 * timestamp it has seen.
 *
 * A remote timestamp far in the future would drag every later local timestamp with it (and
 * let one bad clock win every last-writer-wins conflict), so `receive` refuses it instead.
 */
export class HybridLogicalClock {
  private wall = 0;
  private logical = 0;
  /** The greatest wall time received from another replica: never gone below, even by `correct`. */
  private remoteWall = 0;
  /** Added to physical time, in ms (see `correct`). */
  private correction = 0;
  private readonly physical: () => number;
  readonly maxDriftMs: number;

  constructor(
    readonly replica: ReplicaId,
    options: ClockOptions = {},
  ) {
    this.physical = options.now ?? Date.now;
    this.maxDriftMs = options.maxDriftMs ?? DEFAULT_MAX_DRIFT_MS;
  }

  /** A timestamp for a local event, greater than every timestamp this clock issued or received. */
  now(): Timestamp {
    const pt = this.physicalNow();
    if (pt > this.wall) {
      this.wall = pt;
      this.logical = 0;
    } else {
      this.logical++;
    }
    return { wall: this.wall, logical: this.logical, replica: this.replica };
  }

  /**
   * The receive rule: merges a timestamp from another replica and returns the timestamp of the
   * receive event — the maximum of local, remote and physical time, ticked — so it and every
   * later `now()` are greater than `remote`. Throws `ClockDriftError`, changing nothing, if
   * `remote` is more than `maxDriftMs` ahead of physical time.
   */
  receive(remote: Timestamp): Timestamp {
    const pt = this.physicalNow();
    if (remote.wall - pt > this.maxDriftMs) throw new ClockDriftError(remote.wall, pt, this.maxDriftMs);
    if (remote.wall > this.remoteWall) this.remoteWall = remote.wall;
    if (remote.wall > this.wall) {
      this.wall = remote.wall;
      this.logical = remote.logical;
    } else if (remote.wall === this.wall && remote.logical > this.logical) {
      this.logical = remote.logical;
    }
    return this.now();
  }

  /** What `correct` last set: added to the local clock's physical time, in ms. */
  get offset(): number {
    return this.correction;
  }

  /** Physical time as this clock reads it: the local clock, corrected by `correct`'s offset. */
  physicalNow(): number {
    return Math.floor(this.physical() + this.correction);
  }

  /**
   * Corrects this clock's physical time by `offsetMs` (a sync server told it how far off the
   * local clock is). A clock that ran ahead comes back to corrected time, though not below any
   * timestamp it received: the timestamps it issued ahead are left behind, which is safe because
   * a replica's own writes are ordered by causality (their dots), not by their timestamps — only
   * concurrent writes are ordered by time, and those it would otherwise win unfairly.
   */
  correct(offsetMs: number): void {
    this.correction = offsetMs;
    const pt = this.physicalNow();
    if (this.wall <= pt || this.wall <= this.remoteWall) return;
    if (pt > this.remoteWall) {
      this.wall = pt;
      this.logical = 0;
    } else this.wall = this.remoteWall;
  }

  /** The greatest timestamp issued or received so far (without ticking). */
  peek(): Timestamp {
    return { wall: this.wall, logical: this.logical, replica: this.replica };
  }
}
