import {
  type ClockOptions,
  compareTimestamps,
  HybridLogicalClock,
  replicaId,
  type Timestamp,
  VersionVector,
} from '@concord/crdt';
import { ClusterError } from './ClusterError.js';
import type { EventJournal } from './EventJournal.js';
import type { EventReplication, ReplicationEndpoint } from './EventReplication.js';
import { MemoryJournal } from './MemoryJournal.js';
import { compareEvents, type EventMeta, type JournalEvent } from './ReplicatedEvent.js';

/**
 * The order a replica applies events in:
 * - `'arrival'` (Akka's): as they arrive, causally ordered; events written concurrently reach
 *   replicas in different orders, so the handler (or `merge`) must make them commute — CRDT
 *   state in events, or a last-writer-wins field by `meta.timestamp`.
 * - `'timestamp'`: one total order on every replica — hybrid logical clock, then origin — that
 *   extends causality. A replica that learns of an event earlier than some it applied rewinds
 *   to a checkpoint and replays, so *any* handler converges, and events that each set the
 *   state resolve as last-writer-wins by clock then replica.
 */
export type Ordering = 'arrival' | 'timestamp';

export interface ReplicatedEntityOptions<S, C, E> {
  readonly persistenceId: string;
  /** This replica's id, and every replica's (this one included). */
  readonly replica: string;
  readonly replicas: readonly string[];
  /** The state before any event. */
  readonly emptyState: S;
  /**
   * How a state becomes JSON for snapshots and checkpoints, and back (default: the state is
   * plain data, copied with structuredClone) — for states holding class instances such as CRDTs.
   */
  readonly stateCodec?: { encode(state: S): unknown; decode(json: unknown): S };
  /** Turns a command into the events to persist (none: a command that changes nothing). */
  readonly commandHandler: (state: S, command: C) => E | readonly E[] | undefined;
  /** Applies an event; returns the new state. Must be deterministic; must not mutate `state` under 'timestamp' ordering. */
  readonly eventHandler: (state: S, event: E, meta: EventMeta) => S;
  /** Under 'arrival' ordering: applies events written concurrently with ones applied here instead of `eventHandler`. */
  readonly merge?: (state: S, event: E, meta: EventMeta) => S;
  readonly ordering?: Ordering;
  /** Where events are kept (default: memory). */
  readonly journal?: EventJournal;
  /** How events reach the other replicas (default: nowhere). */
  readonly replication?: EventReplication;
  /** A snapshot (and, under 'timestamp', a checkpoint to rewind to) every this many events (default 100). */
  readonly snapshotEvery?: number;
  readonly clock?: ClockOptions;
}

/** Called after every event applied, with the state it made. */
export type EntityListener<S, E> = (state: S, event: E, meta: EventMeta) => void;

interface Checkpoint {
  readonly index: number;
  /** Encoded: a later event handler may mutate what it was given. */
  readonly state: unknown;
  readonly version: VersionVector;
}

const MAX_PENDING = 100_000;

/**
 * Replicated event sourcing (Akka's ReplicatedEventSourcing, seed 004): several replicas of
 * one persistent entity accept commands in parallel, each journaling its events durably with
 * its origin, version vector and hybrid-clock timestamp, and replicating them to the others,
 * which apply them in causal order. Concurrent histories merge deterministically: by the
 * handler, a `merge`, or the 'timestamp' ordering under which any handler converges.
 */
export class ReplicatedEntity<S, C, E> implements ReplicationEndpoint {
  readonly persistenceId: string;
  readonly replica: string;
  private currentState: S;
  private applied = new VersionVector();
  /** Every event of the journal, in the order journaled here: a causal order, served to other replicas. */
  private readonly journaled: JournalEvent<E>[] = [];
  /** Under 'timestamp' ordering: the same events in the total order, applied in it. */
  private readonly ordered: JournalEvent<E>[] = [];
  private checkpoints: Checkpoint[] = [];
  /** Events received before what they depend on: applied once it arrives. */
  private readonly pending = new Map<string, JournalEvent<E>>();
  private readonly clock: HybridLogicalClock;
  private latest: Timestamp | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly listeners = new Set<EntityListener<S, E>>();
  private readonly journal: EventJournal;
  private readonly ordering: Ordering;
  private readonly every: number;
  private sinceSnapshot = 0;
  private detach: (() => void) | undefined;
  private closed = false;

  private constructor(private readonly options: ReplicatedEntityOptions<S, C, E>) {
    if (!options.replicas.includes(options.replica)) {
      throw new ClusterError(
        'BAD_ARGUMENT',
        `replica ${options.replica} is not one of ${options.replicas.join(', ')}`,
      );
    }
    this.persistenceId = options.persistenceId;
    this.replica = options.replica;
    this.currentState = this.decode(this.encode(options.emptyState));
    this.clock = new HybridLogicalClock(replicaId(options.replica), options.clock);
    this.journal = options.journal ?? new MemoryJournal();
    this.ordering = options.ordering ?? 'arrival';
    this.every = options.snapshotEvery ?? 100;
  }

  /** Recovers the entity from its journal (snapshot, then the events after it) and starts replicating. */
  static async open<S, C, E>(options: ReplicatedEntityOptions<S, C, E>): Promise<ReplicatedEntity<S, C, E>> {
    const entity = new ReplicatedEntity(options);
    await entity.recover();
    entity.detach = options.replication?.attach(entity);
    return entity;
  }

  get state(): S {
    return this.currentState;
  }

  /** The events applied here, per origin. */
  version(): VersionVector {
    return this.applied.clone();
  }

  /**
   * Runs a command: its events are journaled (durably) and applied, then replicated. Resolves
   * with the state after them. Commands and deliveries run one at a time.
   */
  command(command: C): Promise<S> {
    return this.serially(async () => {
      const produced = this.options.commandHandler(this.currentState, command);
      const payloads = produced === undefined ? [] : Array.isArray(produced) ? produced : [produced as E];
      if (payloads.length === 0) return this.currentState;
      const version = this.applied.clone();
      const events = payloads.map((payload): JournalEvent<E> => {
        const seq = version.get(this.me) + 1;
        version.advance(this.me, seq);
        return {
          persistenceId: this.persistenceId,
          origin: this.replica,
          seq,
          version: version.toJSON(),
          timestamp: this.nextTimestamp(),
          payload,
        };
      });
      await this.journal.append(events);
      this.journaled.push(...events);
      for (const e of events) this.apply(e, true, false);
      await this.maybeSnapshot(events.length);
      this.options.replication?.publish(this, events);
      return this.currentState;
    });
  }

  /** Calls `listener` after every event applied here. Returns the unsubscribe. */
  subscribe(listener: EntityListener<S, E>): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  async eventsAfter(version: VersionVector, limit: number): Promise<JournalEvent[]> {
    const out: JournalEvent[] = [];
    // This replica's journal order is causal, so the receiver can apply them as they come.
    for (const e of this.journaled) {
      if (e.seq > version.get(e.origin as never)) out.push(e);
      if (out.length >= limit) break;
    }
    return out;
  }

  deliver(events: readonly JournalEvent[]): Promise<void> {
    return this.serially(async () => {
      for (const e of events) {
        if (!isEvent(e) || e.persistenceId !== this.persistenceId) continue;
        if (!this.options.replicas.includes(e.origin) || e.seq <= this.applied.get(e.origin as never))
          continue;
        if (this.pending.size < MAX_PENDING)
          this.pending.set(`${e.origin}\u0000${e.seq}`, e as JournalEvent<E>);
      }
      const ready = this.deliverable();
      if (ready.length === 0) return;
      await this.journal.append(ready);
      this.journaled.push(...ready);
      for (const e of ready) this.apply(e, false, false);
      await this.maybeSnapshot(ready.length);
    });
  }

  /** Stops replicating and closes the journal. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.detach?.();
    await this.queue.catch(() => undefined);
    await this.journal.close();
  }

  // ---- applying ----------------------------------------------------------------------

  private get me() {
    return this.replica as never;
  }

  /** Pending events whose causal past is here, in an order they can be applied in. */
  private deliverable(): JournalEvent<E>[] {
    const version = this.applied.clone();
    const ready: JournalEvent<E>[] = [];
    let progress = true;
    while (progress) {
      progress = false;
      for (const [key, e] of this.pending) {
        if (e.seq <= version.get(e.origin as never)) {
          this.pending.delete(key);
          continue;
        }
        if (e.seq !== version.get(e.origin as never) + 1) continue;
        const caused = Object.entries(e.version).every(
          ([r, n]) => r === e.origin || n <= version.get(r as never),
        );
        if (!caused) continue;
        version.advance(e.origin as never, e.seq);
        this.pending.delete(key);
        ready.push(e);
        progress = true;
      }
    }
    return ready;
  }

  private apply(event: JournalEvent<E>, local: boolean, replaying: boolean): void {
    if (!local) this.observe(event.timestamp);
    if (this.ordering === 'arrival') {
      this.step(event, local, replaying);
      return;
    }
    // Where the event goes in the total order; usually the end.
    const log = this.ordered;
    let index = log.length;
    while (index > 0 && compareEvents(log[index - 1]!, event) > 0) index--;
    log.splice(index, 0, event);
    if (index === log.length - 1) {
      this.step(event, local, replaying);
      this.checkpoint(log.length);
      return;
    }
    // An event earlier than some applied: back to the last checkpoint before it, and replay.
    this.checkpoints = this.checkpoints.filter((c) => c.index <= index);
    const from = this.checkpoints.at(-1);
    this.currentState = this.decode(from ? from.state : this.encode(this.options.emptyState));
    this.applied = from ? from.version.clone() : new VersionVector();
    for (let i = from?.index ?? 0; i < log.length; i++) {
      const e = log[i]!;
      this.step(e, e.origin === this.replica, i !== index || replaying);
      this.checkpoint(i + 1);
    }
  }

  /** Applies one event to the state (the handler, or `merge` for a concurrent one), then tells listeners. */
  private step(event: JournalEvent<E>, local: boolean, replaying: boolean): void {
    const concurrent = Object.entries(this.applied.toJSON()).some(([r, n]) => n > (event.version[r] ?? 0));
    this.applied.advance(event.origin as never, event.seq);
    const meta: EventMeta = {
      origin: event.origin,
      seq: event.seq,
      version: versionOf(event.version),
      timestamp: event.timestamp,
      concurrent,
      local,
      replaying,
    };
    const handler =
      concurrent && this.ordering === 'arrival' && this.options.merge
        ? this.options.merge
        : this.options.eventHandler;
    this.currentState = handler(this.currentState, event.payload, meta);
    for (const l of this.listeners) l(this.currentState, event.payload, meta);
  }

  /** Under 'timestamp' ordering: keeps the state after the first `index` events of the total order, every `snapshotEvery`. */
  private checkpoint(index: number): void {
    if (index % this.every !== 0 || (this.checkpoints.at(-1)?.index ?? -1) >= index) return;
    this.checkpoints.push({ index, state: this.encode(this.currentState), version: this.applied.clone() });
  }

  // ---- time --------------------------------------------------------------------------

  /** A timestamp after every event applied here: the total order then extends causality even past a refused clock. */
  private nextTimestamp(): Timestamp {
    const now = this.clock.now();
    const latest = this.latest;
    const ts =
      latest && compareTimestamps(now, latest) <= 0
        ? { wall: latest.wall, logical: latest.logical + 1, replica: now.replica }
        : now;
    this.latest = ts;
    return ts;
  }

  private observe(ts: Timestamp): void {
    try {
      this.clock.receive(ts);
    } catch {
      // A clock far ahead is not followed; `nextTimestamp` still orders later events after it.
    }
    if (!this.latest || compareTimestamps(ts, this.latest) > 0) this.latest = ts;
  }

  // ---- durability --------------------------------------------------------------------

  /** Every `snapshotEvery` events, the state after all journaled so far: recovery replays only later ones. */
  private async maybeSnapshot(count: number): Promise<void> {
    this.sinceSnapshot += count;
    if (this.sinceSnapshot < this.every) return;
    this.sinceSnapshot = 0;
    await this.journal.saveSnapshot(this.persistenceId, {
      state: this.encode(this.currentState),
      version: this.applied.toJSON(),
      position: this.journaled.length,
    });
  }

  private async recover(): Promise<void> {
    const snapshot = await this.journal.loadSnapshot(this.persistenceId);
    const events = (await this.journal.read(this.persistenceId, 0)) as JournalEvent<E>[];
    this.journaled.push(...events);
    const usable = snapshot !== undefined && snapshot.position <= events.length;
    // The order to replay in, and how many of its first events the snapshot already holds.
    let replay = events;
    let start = usable ? snapshot.position : 0;
    if (this.ordering === 'timestamp') {
      replay = [...events].sort(compareEvents);
      // The snapshot stands if the events it holds are also the first in the total order
      // (nothing earlier arrived after it was taken); otherwise everything is replayed.
      const holds = (e: JournalEvent) => e.seq <= (snapshot?.version[e.origin] ?? 0);
      if (!replay.slice(0, start).every(holds)) start = 0;
      this.ordered.push(...replay.slice(0, start));
    }
    if (start > 0 && snapshot) {
      this.currentState = this.decode(snapshot.state);
      this.applied = versionOf(snapshot.version);
      if (this.ordering === 'timestamp') {
        this.checkpoints.push({ index: start, state: snapshot.state, version: this.applied.clone() });
      }
    }
    for (const e of replay.slice(start)) {
      if (this.ordering === 'timestamp') this.ordered.push(e);
      this.step(e, e.origin === this.replica, true);
      if (this.ordering === 'timestamp') this.checkpoint(this.ordered.length);
    }
    for (const e of events)
      if (!this.latest || compareTimestamps(e.timestamp, this.latest) > 0) this.latest = e.timestamp;
  }

  private encode(state: S): unknown {
    return this.options.stateCodec ? this.options.stateCodec.encode(state) : structuredClone(state);
  }

  private decode(json: unknown): S {
    return this.options.stateCodec ? this.options.stateCodec.decode(json) : (structuredClone(json) as S);
  }

  private serially<T>(task: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new ClusterError('STOPPED', `${this.persistenceId} is closed`));
    const run = this.queue.then(task);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

function versionOf(json: Record<string, number>): VersionVector {
  return new VersionVector(Object.entries(json) as [never, number][]);
}

function isEvent(e: unknown): e is JournalEvent {
  const x = e as JournalEvent;
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof x.persistenceId === 'string' &&
    typeof x.origin === 'string' &&
    Number.isSafeInteger(x.seq) &&
    x.seq > 0 &&
    typeof x.version === 'object' &&
    x.version !== null &&
    typeof x.timestamp?.wall === 'number' &&
    typeof x.timestamp.logical === 'number'
  );
}
