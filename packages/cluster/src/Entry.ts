import {
  type Crdt,
  type CrdtType,
  decodeCrdt,
  encodeCrdt,
  type ReplicaId,
  VersionVector,
} from '@concord/crdt';
import { CRDT_TYPES, runReplicaId } from '@concord/crdt/internal';
import { ClusterError } from './ClusterError.js';

/**
 * One life of a key: from the write that found it absent to the delete that removed it. Named
 * by the node that began it and that node's count of lives it began for the key.
 */
interface Incarnation {
  readonly node: string;
  readonly n: number;
  state: Crdt;
}

/** An entry as it travels and as it is stored: plain JSON, states in the CRDT codec (base64). */
export interface EntryJson {
  /** The CRDT type's wire tag. */
  t: number;
  /** Writes (updates and deletes) applied, counted per node. */
  vv: Record<string, number>;
  /** Lives removed: every incarnation of node r numbered ≤ tomb[r]. */
  tomb: Record<string, number>;
  inc: [node: string, n: number, state: string][];
  /**
   * The run of the node that made the last local update here, and the lives that update went
   * into (see `Entry.update`): kept with the entry, so that node, restarted, continues its run.
   */
  own?: [node: string, run: number, lives: string[]];
}

/** One write as it is gossiped the moment it happens (Almeida et al.'s delta-state propagation). */
export interface DeltaJson {
  k: string;
  t: number;
  /** The write's dot: the writing node and its count of writes to this key. */
  d: [string, number];
  tomb: Record<string, number>;
  /** For an update: the life it extends, and the CRDT delta (base64). */
  inc?: [string, number];
  /**
   * For an update made while the key had several lives: the other lives, each given the same
   * state as `inc` (see `Entry.update`).
   */
  fold?: [string, number][];
  s?: string;
}

export type DeltaResult = 'applied' | 'duplicate' | 'gap';

/**
 * The most lives one update's delta may fold (each is given a copy of its state): a key has
 * several only while nodes begin it or write it concurrently with a delete, a handful at most;
 * a peer naming thousands would make this node copy the state thousands of times.
 */
const MAX_FOLDED = 256;

/**
 * A key of the replicated store: a CRDT state that can be deleted and written again.
 *
 * A CRDT state cannot be un-joined, so a delete cannot subtract what it saw from a counter.
 * Instead a key holds *incarnations*: a write to an absent key begins a new one, a delete
 * removes the ones it observed (recording, per node, the highest it removed: `tomb`) and a
 * later write begins a fresh one. An update concurrent with a delete of the life it extended
 * is removed with it (remove-wins for what the delete saw); a write that began a new life the
 * delete did not see survives. Akka's Replicator keeps a deleted key deleted forever instead.
 *
 * Every write also advances `vv`, the per-node count of writes to the key: two nodes with the
 * same `vv` hold the same entry, so anti-entropy compares these small vectors, never states.
 * A gossiped delta applies only in its writer's order (`gap` otherwise): a node missing one
 * gets the whole entry instead, as Akka's delta propagation falls back to full state.
 */
export class Entry {
  private readonly lives = new Map<string, Incarnation>();
  /** This node's current run (see `update`) and the lives its last write went into. */
  private own?: { node: ReplicaId; run: number; lives: string[] };

  private constructor(
    readonly type: CrdtType,
    readonly vv: VersionVector,
    readonly tomb: VersionVector,
  ) {}

  static empty(type: CrdtType): Entry {
    return new Entry(type, new VersionVector(), new VersionVector());
  }

  /** The value users see: the join of the live incarnations, or undefined when deleted or never written. */
  state(): Crdt | undefined {
    const lives = this.sortedLives();
    if (lives.length === 0) return undefined;
    if (lives.length === 1) return lives[0]!.state;
    const joined = lives[0]!.state.clone();
    for (const l of lives.slice(1)) joined.join(l.state);
    return joined;
  }

  get deleted(): boolean {
    return this.lives.size === 0;
  }

  /**
   * Applies a local update: `mutate` receives the current value (or the type's bottom for an
   * absent key) and returns the delta it made (undefined: the whole state is the delta).
   *
   * With several lives (two nodes began one concurrently, or a write raced a delete) the
   * update sees their join, and its delta may build on any of them: an insertion into a
   * sequence names neighbours from one life. A delta joined into one life alone would leave
   * it holding operations whose causes are elsewhere, unusable once a delete removes the
   * others. So the update folds the lives: each takes the join of all of them with the delta
   * (as a Riak write that has seen siblings resolves them). Each is kept, not retired, so an
   * update made to one of them elsewhere concurrently is not lost, and a delete still removes
   * only the lives it saw. Once folded the lives stay equal, and later updates ship only
   * their delta.
   *
   * `mutate` makes its operations as the node's *run* (`runReplicaId`), not as the node: a
   * CRDT numbers a replica's operations by what it has seen of that replica, so a node writing
   * again after a delete removed its lives would number them from the start while a life it
   * never saw deleted (or one that folded them in) still holds the old ones: two elements of
   * a sequence with one id, or a count hidden by the old one's maximum. The `Embedded` type
   * of the database solves the same problem the same way. A run continues while a life its
   * last write went into is live here (that life holds all of the run's operations); else a
   * new run begins, named after this write's dot, which the node never reuses. The run is kept
   * with the entry (`EntryJson.own`), which a node saves before it sends the write anywhere:
   * restarted, it continues the run rather than add a replica to the key's state each time.
   */
  update<T extends Crdt>(
    node: ReplicaId,
    mutate: (state: T, node: ReplicaId) => T | undefined,
  ): Omit<DeltaJson, 'k'> {
    const k = this.vv.get(node) + 1;
    const own = this.own;
    const run = own?.node === node && own.lives.some((key) => this.lives.has(key)) ? own.run : k;
    const as = runReplicaId(node, run);
    const lives = this.sortedLives();
    const life = lives.at(-1) ?? { node, n: this.tomb.get(node) + 1, state: this.type.empty() };
    let shipped: Crdt;
    if (lives.every((l) => l === life || l.state.equals(life.state))) {
      // One life, or lives folded before: the update mutates the newest, the others join its delta.
      shipped = mutate(life.state as T, as) ?? life.state;
      if (shipped === life.state && lives.length > 1) shipped = shipped.clone();
      for (const l of lives) if (l !== life) l.state.join(shipped);
    } else {
      const joined = this.state() as Crdt;
      mutate(joined as T, as);
      for (const l of lives) l.state = l === life ? joined : joined.clone();
      shipped = joined;
    }
    if (lives.length === 0) this.lives.set(lifeKey(life.node, life.n), life);
    const fold =
      lives.length > 1 ? lives.slice(0, -1).map((l): [string, number] => [l.node, l.n]) : undefined;
    this.own = { node, run, lives: [...this.lives.keys()] };
    this.vv.advance(node, k);
    return {
      t: this.type.tag,
      d: [node, k],
      tomb: this.tomb.toJSON(),
      inc: [life.node, life.n],
      ...(fold ? { fold } : {}),
      s: base64(encodeCrdt(shipped)),
    };
  }

  /** Applies a local delete: every live incarnation is removed. */
  delete(node: ReplicaId): Omit<DeltaJson, 'k'> {
    for (const l of this.lives.values()) this.tomb.advance(l.node as ReplicaId, l.n);
    this.lives.clear();
    const k = this.vv.get(node) + 1;
    this.vv.advance(node, k);
    return { t: this.type.tag, d: [node, k], tomb: this.tomb.toJSON() };
  }

  /** Applies a delta gossiped by another node, only in its writer's order. */
  applyDelta(delta: DeltaJson): DeltaResult {
    const [node, k] = delta.d;
    const have = this.vv.get(node as ReplicaId);
    if (k <= have) return 'duplicate';
    if (k !== have + 1) return 'gap';
    if (delta.t !== this.type.tag)
      throw new ClusterError('TYPE_MISMATCH', `delta of type ${delta.t} for a ${this.type.typeName}`);
    const state = delta.s === undefined ? undefined : decodeCrdt(fromBase64(delta.s), this.type);
    const lives = delta.inc === undefined ? [] : [lifeRef(delta.inc)];
    if (delta.fold !== undefined) {
      if (!Array.isArray(delta.fold) || delta.fold.length > MAX_FOLDED)
        throw new ClusterError('BAD_ARGUMENT', `a fold names an array of at most ${MAX_FOLDED} lives`);
      for (const f of delta.fold) lives.push(lifeRef(f));
    }
    this.tomb.merge(vvOf(delta.tomb));
    if (state)
      for (const [i, [n, c]] of lives.entries()) this.joinLife(n, c, i === 0 ? state : state.clone());
    this.dropRemoved();
    this.vv.advance(node as ReplicaId, k);
    return 'applied';
  }

  /** Joins a whole entry (anti-entropy, a read, a node catching up). */
  join(other: Entry): void {
    if (other.type !== this.type) {
      throw new ClusterError('TYPE_MISMATCH', `a ${other.type.typeName} joined into a ${this.type.typeName}`);
    }
    this.vv.merge(other.vv);
    this.tomb.merge(other.tomb);
    for (const l of other.lives.values()) this.joinLife(l.node, l.n, l.state.clone());
    this.dropRemoved();
  }

  /**
   * A short string equal on two nodes exactly when their entries are: the write and removal
   * counters, in a fixed order (the states follow from them).
   */
  digest(): string {
    return `${canonical(this.vv)}|${canonical(this.tomb)}`;
  }

  toJSON(): EntryJson {
    return {
      t: this.type.tag,
      vv: this.vv.toJSON(),
      tomb: this.tomb.toJSON(),
      inc: this.sortedLives().map((l) => [l.node, l.n, base64(encodeCrdt(l.state))]),
      ...(this.own ? { own: [this.own.node, this.own.run, this.own.lives] } : {}),
    };
  }

  /** Reads an entry from JSON; throws for anything malformed (a peer's message is not trusted). */
  static fromJSON(json: EntryJson): Entry {
    const type = typeOfTag(json?.t);
    if (!Array.isArray(json.inc)) throw new ClusterError('BAD_ARGUMENT', 'entry without incarnations');
    const entry = new Entry(type, vvOf(json.vv), vvOf(json.tomb));
    for (const life of json.inc) {
      const [node, n] = lifeRef(life);
      entry.joinLife(node, n, decodeCrdt(fromBase64(life[2]), type));
    }
    entry.dropRemoved();
    if (json.own !== undefined) {
      const [node, run, lives] = Array.isArray(json.own) ? json.own : [];
      if (
        typeof node !== 'string' ||
        !Number.isSafeInteger(run) ||
        (run as number) < 1 ||
        !Array.isArray(lives) ||
        lives.length > MAX_FOLDED + 1 ||
        !lives.every((l) => typeof l === 'string')
      )
        throw new ClusterError('BAD_ARGUMENT', 'malformed run');
      entry.own = { node: node as ReplicaId, run: run as number, lives };
    }
    return entry;
  }

  private joinLife(node: string, n: number, state: Crdt): void {
    if (n <= this.tomb.get(node as ReplicaId)) return;
    const key = lifeKey(node, n);
    const life = this.lives.get(key);
    if (life) life.state.join(state);
    else this.lives.set(key, { node, n, state });
  }

  private dropRemoved(): void {
    for (const [key, l] of this.lives) if (l.n <= this.tomb.get(l.node as ReplicaId)) this.lives.delete(key);
  }

  private sortedLives(): Incarnation[] {
    return [...this.lives.values()].sort(
      (a, b) => a.n - b.n || (a.node < b.node ? -1 : a.node > b.node ? 1 : 0),
    );
  }
}

export function typeOfTag(tag: unknown): CrdtType {
  const type = typeof tag === 'number' ? CRDT_TYPES.get(tag) : undefined;
  if (!type) throw new ClusterError('BAD_ARGUMENT', `unknown CRDT type tag ${String(tag)}`);
  return type;
}

/** A life named in a peer's delta: `[node, n]`, checked (a peer's message is not trusted). */
function lifeRef(ref: unknown): [string, number] {
  if (!Array.isArray(ref) || typeof ref[0] !== 'string' || !Number.isSafeInteger(ref[1]))
    throw new ClusterError('BAD_ARGUMENT', 'malformed incarnation');
  return [ref[0], ref[1]];
}

function lifeKey(node: string, n: number): string {
  return `${n}\u0000${node}`;
}

export function vvOf(json: unknown): VersionVector {
  if (typeof json !== 'object' || json === null)
    throw new ClusterError('BAD_ARGUMENT', 'malformed version vector');
  const vv = new VersionVector();
  for (const [r, n] of Object.entries(json)) {
    if (!Number.isSafeInteger(n) || (n as number) < 0)
      throw new ClusterError('BAD_ARGUMENT', 'malformed version vector');
    vv.advance(r as ReplicaId, n as number);
  }
  return vv;
}

function canonical(vv: VersionVector): string {
  return [...vv.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([r, n]) => `${r}:${n}`)
    .join(',');
}

export function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

export function fromBase64(s: string): Uint8Array {
  if (typeof s !== 'string') throw new ClusterError('BAD_ARGUMENT', 'a state must be base64 text');
  return new Uint8Array(Buffer.from(s, 'base64'));
}
