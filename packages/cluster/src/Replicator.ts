import { type Crdt, type CrdtType, type ReplicaId, replicaId } from '@concord/crdt';
import { ClusterError } from './ClusterError.js';
import type { ClusterNode } from './ClusterNode.js';
import { type DeltaJson, Entry, type EntryJson, typeOfTag } from './Entry.js';
import { KeyDigests } from './KeyDigests.js';
import type { ReplicatorStore } from './ReplicatorStore.js';
import { realTimers, type Timers } from './Timers.js';

/**
 * How many nodes must have a write (this one included) before `update`/`delete` resolve:
 * Akka's WriteLocal, WriteTo(n), WriteMajority, WriteAll. Majority and all count every member,
 * reachable or not.
 */
export type Consistency = 'local' | 'majority' | 'all' | { readonly n: number };

export interface WriteOptions {
  readonly write?: Consistency;
  /** For a level beyond local: how long to wait (default 5 s). A timeout rejects; the write still spreads. */
  readonly timeout?: number;
}

export interface ReadOptions {
  readonly read?: Consistency;
  readonly timeout?: number;
}

export interface ReplicatorOptions {
  /** Keeps entries across restarts (`@concord/cluster/sqlite`); default: memory only. */
  readonly store?: ReplicatorStore;
  /** How often anti-entropy runs with one random reachable member (default 1 s). */
  readonly gossipIntervalMs?: number;
  /** Most whole entries one anti-entropy exchange sends each way (default 1,000); the rest follow in later rounds. */
  readonly maxEntriesPerGossip?: number;
  /** Picks gossip partners; injected so a test is reproducible (default Math.random). */
  readonly random?: () => number;
  readonly timers?: Timers;
}

/** Called with a key's value (undefined once deleted) whenever it changes on this node. */
export type Subscriber<T = Crdt> = (value: T | undefined, key: string) => void;

const CHANNEL = 'ddata';
const DEFAULT_TIMEOUT = 5000;

type Message =
  | { op: 'delta'; delta: DeltaJson }
  | { op: 'entries'; entries: [string, EntryJson][] }
  | { op: 'read'; key: string }
  | { op: 'digest'; buckets: number[] }
  | { op: 'pull'; keys: string[] };

/**
 * DistributedData: a key-value store of `@concord/crdt` states replicated across a cluster
 * (Akka's Replicator, seed 004). Every update is applied here, made durable (with a store),
 * and its delta gossiped to every reachable member at once; periodic anti-entropy repairs
 * what was missed (a link down, a node restarted) by comparing digests and sending whole
 * entries only for keys that differ. Consistency levels decide how many nodes must have a
 * write, or answer a read, before the call resolves.
 */
export class Replicator {
  private readonly entries = new Map<string, Entry>();
  private readonly digests = new KeyDigests();
  private readonly subscribers = new Map<string, Set<Subscriber>>();
  private readonly prefixSubscribers = new Set<{ prefix: string; cb: Subscriber }>();
  private readonly me: ReplicaId;
  private readonly timers: Timers;
  private readonly random: () => number;
  private readonly gossip: unknown;
  private stopped = false;
  /** Deltas that arrived out of their writer's order and were answered with the whole entry. */
  gaps = 0;

  constructor(
    readonly node: ClusterNode,
    private readonly options: ReplicatorOptions = {},
  ) {
    this.me = replicaId(node.id);
    this.timers = options.timers ?? realTimers;
    this.random = options.random ?? Math.random;
    for (const [key, json] of options.store?.load() ?? []) {
      const entry = Entry.fromJSON(json);
      this.entries.set(key, entry);
      this.digests.set(key, entry.digest());
    }
    node.handle(CHANNEL, (from, body) => this.receive(from, body as Message));
    // A member that (re)appears gets what it missed now, not at the next random round.
    node.on('reachable', (id: string) => this.antiEntropy(id));
    this.gossip = this.timers.setInterval(() => this.gossipRound(), options.gossipIntervalMs ?? 1000);
  }

  /**
   * Updates `key`, a CRDT of `type`: `mutate` receives the current state (the type's empty
   * state for an absent or deleted key) and the replica id to make its operations as (this
   * node's current run of writes to the key, see `Entry.update`), mutates it and returns the
   * delta its mutator returned (or nothing: the whole state is then sent). Resolves with the
   * new value once `write` nodes have it.
   */
  async update<T extends Crdt>(
    key: string,
    type: CrdtType<T>,
    mutate: (state: T, node: ReplicaId) => T | undefined,
    options: WriteOptions = {},
  ): Promise<T> {
    this.checkKey(key);
    const entry = this.entryFor(key, type);
    const delta: DeltaJson = { k: key, ...entry.update(this.me, mutate) };
    await this.commit(key, delta, options);
    return entry.state() as T;
  }

  /** Deletes `key` on every node; a later update writes it again from the empty state. */
  async delete(key: string, options: WriteOptions = {}): Promise<void> {
    this.checkKey(key);
    const entry = this.entries.get(key);
    if (!entry || entry.deleted) return;
    await this.commit(key, { k: key, ...entry.delete(this.me) }, options);
  }

  /** The value of `key`, after hearing from `read` nodes (this one included); undefined if absent. */
  async get<T extends Crdt>(
    key: string,
    type?: CrdtType<T>,
    options: ReadOptions = {},
  ): Promise<T | undefined> {
    this.checkKey(key);
    const needed = this.needed(options.read ?? 'local');
    if (needed > 1) {
      const others = this.node.peers();
      await this.quorum(
        needed - 1,
        options.timeout ?? DEFAULT_TIMEOUT,
        `read of ${key}`,
        others,
        (id, timeout) =>
          this.node.request(id, CHANNEL, { op: 'read', key }, timeout).then((reply) => {
            const json = reply as [string, EntryJson][];
            if (Array.isArray(json) && json.length > 0) this.mergeEntries(json);
          }),
      );
    }
    const entry = this.entries.get(key);
    if (entry && type && entry.type !== type) {
      throw new ClusterError('TYPE_MISMATCH', `${key} is a ${entry.type.typeName}, not a ${type.typeName}`);
    }
    return entry?.state()?.clone() as T | undefined;
  }

  /** The keys with a value on this node. */
  keys(): string[] {
    return [...this.entries].filter(([, e]) => !e.deleted).map(([k]) => k);
  }

  /** Calls `cb` with the key's value now (if it has one) and whenever it changes here. Returns the unsubscribe. */
  subscribe<T extends Crdt = Crdt>(key: string, cb: Subscriber<T>): () => void {
    const set = this.subscribers.get(key) ?? new Set<Subscriber>();
    this.subscribers.set(key, set);
    set.add(cb as Subscriber);
    const now = this.entries.get(key)?.state();
    if (now) cb(now.clone() as T, key);
    return () => {
      set.delete(cb as Subscriber);
      if (set.size === 0) this.subscribers.delete(key);
    };
  }

  /** As `subscribe`, for every key starting with `prefix`. */
  subscribePrefix<T extends Crdt = Crdt>(prefix: string, cb: Subscriber<T>): () => void {
    const sub = { prefix, cb: cb as Subscriber };
    this.prefixSubscribers.add(sub);
    for (const [key, entry] of this.entries) {
      const now = key.startsWith(prefix) ? entry.state() : undefined;
      if (now) cb(now.clone() as T, key);
    }
    return () => {
      this.prefixSubscribers.delete(sub);
    };
  }

  /** Runs one anti-entropy exchange with `peer` now (the gossip timer does this with a random one). */
  async antiEntropy(peer: string): Promise<void> {
    if (this.stopped || peer === this.node.id) return;
    try {
      const reply = (await this.node.request(
        peer,
        CHANNEL,
        { op: 'digest', buckets: this.digests.buckets() },
        DEFAULT_TIMEOUT,
      )) as { buckets: number[]; keys: [string, string][] };
      if (!Array.isArray(reply?.buckets) || !Array.isArray(reply.keys)) return;
      const theirs = new Map(reply.keys);
      const push: [string, EntryJson][] = [];
      const pull: string[] = [];
      const limit = this.options.maxEntriesPerGossip ?? 1000;
      for (const [key, digest] of this.digests.keysIn(reply.buckets)) {
        if (theirs.get(key) !== digest && push.length < limit)
          push.push([key, this.entries.get(key)!.toJSON()]);
      }
      for (const [key, digest] of theirs) {
        if (this.digests.get(key) !== digest && pull.length < limit) pull.push(key);
      }
      if (push.length > 0) this.node.send(peer, CHANNEL, { op: 'entries', entries: push });
      if (pull.length > 0) {
        const entries = await this.node.request(peer, CHANNEL, { op: 'pull', keys: pull }, DEFAULT_TIMEOUT);
        if (Array.isArray(entries)) this.mergeEntries(entries as [string, EntryJson][]);
      }
    } catch {
      // The peer went away or was slow: the next round tries again, with whoever is reachable.
    }
  }

  /** Stops gossiping and closes the store (the cluster node is the caller's to stop). */
  close(): void {
    this.stopped = true;
    this.timers.clearInterval(this.gossip);
    this.options.store?.close();
  }

  // ---- writes ------------------------------------------------------------------------

  private async commit(key: string, delta: DeltaJson, options: WriteOptions): Promise<void> {
    const entry = this.entries.get(key)!;
    this.options.store?.save([[key, entry.toJSON()]]);
    this.changed(key, entry);
    const needed = this.needed(options.write ?? 'local');
    const others = this.node.peers();
    if (needed <= 1) {
      for (const id of others) this.node.send(id, CHANNEL, { op: 'delta', delta });
      return;
    }
    await this.quorum(
      needed - 1,
      options.timeout ?? DEFAULT_TIMEOUT,
      `write of ${key}`,
      others,
      async (id, timeout) => {
        const result = await this.node.request(id, CHANNEL, { op: 'delta', delta }, timeout);
        // The peer missed an earlier write to this key: it gets the whole entry instead.
        if (result === 'gap')
          await this.node.request(id, CHANNEL, { op: 'entries', entries: [[key, entry.toJSON()]] }, timeout);
      },
    );
  }

  /**
   * Asks every one of `peers` at once and resolves when `count` have answered; rejects with
   * TIMEOUT when that cannot happen in time (too few reachable, or too few answers).
   */
  private quorum(
    count: number,
    timeout: number,
    what: string,
    peers: readonly string[],
    ask: (id: string, timeout: number) => Promise<void>,
  ): Promise<void> {
    return new Promise((resolve, reject) => {
      let ok = 0;
      let done = false;
      const finish = (error?: ClusterError) => {
        if (done) return;
        done = true;
        this.timers.clearTimeout(timer);
        if (error) reject(error);
        else resolve();
      };
      const timer = this.timers.setTimeout(
        () =>
          finish(
            new ClusterError('TIMEOUT', `${what}: ${ok + 1} of ${count + 1} nodes within ${timeout} ms`),
          ),
        timeout,
      );
      for (const id of peers) {
        ask(id, timeout).then(
          () => {
            if (++ok >= count) finish();
          },
          // A peer lost or refusing: the deadline reports how many answered.
          () => undefined,
        );
      }
    });
  }

  private needed(level: Consistency): number {
    const n = this.node.members().length;
    if (level === 'local') return 1;
    if (level === 'majority') return Math.floor(n / 2) + 1;
    if (level === 'all') return n;
    if (typeof level === 'object' && Number.isSafeInteger(level.n) && level.n >= 1)
      return Math.min(level.n, n);
    throw new ClusterError('BAD_ARGUMENT', `unknown consistency ${JSON.stringify(level)}`);
  }

  // ---- messages from peers -----------------------------------------------------------

  private receive(_from: string, msg: Message): unknown {
    switch (msg?.op) {
      case 'delta':
        return this.applyDelta(msg.delta);
      case 'entries':
        if (Array.isArray(msg.entries)) this.mergeEntries(msg.entries);
        return 'ok';
      case 'read': {
        const entry = typeof msg.key === 'string' ? this.entries.get(msg.key) : undefined;
        return entry ? [[msg.key, entry.toJSON()]] : [];
      }
      case 'digest': {
        const buckets = this.digests.differing(msg.buckets);
        return { buckets, keys: this.digests.keysIn(buckets) };
      }
      case 'pull': {
        const keys = Array.isArray(msg.keys) ? msg.keys : [];
        return keys.flatMap((k) => {
          const entry = typeof k === 'string' ? this.entries.get(k) : undefined;
          return entry ? [[k, entry.toJSON()]] : [];
        });
      }
      default:
        throw new ClusterError('BAD_ARGUMENT', 'unknown replicator message');
    }
  }

  private applyDelta(delta: DeltaJson): string {
    if (typeof delta?.k !== 'string' || !Array.isArray(delta.d))
      throw new ClusterError('BAD_ARGUMENT', 'malformed delta');
    let entry = this.entries.get(delta.k);
    const created = !entry;
    if (!entry) entry = Entry.empty(typeOfTag(delta.t));
    const result = entry.applyDelta(delta);
    if (result === 'gap') {
      this.gaps++;
      return 'gap';
    }
    if (result === 'applied') {
      if (created) this.entries.set(delta.k, entry);
      this.options.store?.save([[delta.k, entry.toJSON()]]);
      this.changed(delta.k, entry);
    }
    return 'ok';
  }

  /** Joins whole entries from a peer, durably, and tells subscribers of those that changed. */
  private mergeEntries(entries: readonly [string, EntryJson][]): void {
    // Every entry is read before any is merged: a malformed one is skipped, and never leaves
    // the others merged in memory but not saved.
    const read: [string, Entry][] = [];
    for (const item of entries) {
      if (!Array.isArray(item) || typeof item[0] !== 'string') continue;
      try {
        read.push([item[0], Entry.fromJSON(item[1])]);
      } catch {
        this.node.badMessages++;
      }
    }
    const changed: [string, Entry][] = [];
    for (const [key, theirs] of read) {
      const mine = this.entries.get(key);
      if (!mine) {
        this.entries.set(key, theirs);
        changed.push([key, theirs]);
      } else if (mine.type !== theirs.type) {
        this.node.badMessages++; // a peer holding another type under this key: its entry is refused
      } else {
        const before = mine.digest();
        if (before === theirs.digest()) continue;
        mine.join(theirs);
        if (mine.digest() !== before) changed.push([key, mine]);
      }
    }
    if (changed.length === 0) return;
    this.options.store?.save(changed.map(([k, e]) => [k, e.toJSON()]));
    for (const [k, e] of changed) this.changed(k, e);
  }

  private changed(key: string, entry: Entry): void {
    this.digests.set(key, entry.digest());
    const subs = this.subscribers.get(key);
    const matching = [...this.prefixSubscribers].filter((s) => key.startsWith(s.prefix));
    if (!subs && matching.length === 0) return;
    const value = entry.state();
    for (const cb of subs ?? []) cb(value?.clone(), key);
    for (const s of matching) s.cb(value?.clone(), key);
  }

  private gossipRound(): void {
    const peers = this.node.peers();
    if (peers.length === 0) return;
    void this.antiEntropy(peers[Math.floor(this.random() * peers.length)]!);
  }

  private entryFor(key: string, type: CrdtType): Entry {
    let entry = this.entries.get(key);
    if (!entry) {
      entry = Entry.empty(type);
      this.entries.set(key, entry);
    } else if (entry.type !== type) {
      throw new ClusterError('TYPE_MISMATCH', `${key} is a ${entry.type.typeName}, not a ${type.typeName}`);
    }
    return entry;
  }

  private checkKey(key: string): void {
    if (this.stopped) throw new ClusterError('STOPPED', 'the replicator is closed');
    if (typeof key !== 'string' || key.length === 0 || key.length > 1024) {
      throw new ClusterError('BAD_ARGUMENT', 'a key is a string of 1 to 1024 characters');
    }
  }
}
