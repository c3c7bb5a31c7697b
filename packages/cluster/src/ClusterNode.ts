import { randomBytes, timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import { ClusterError } from './ClusterError.js';
import { realTimers, type Timers } from './Timers.js';

/** One member of a cluster: a node process, known by its stable id and this run's `uid`. */
export interface Member {
  /** Stable across restarts (a node with durable state keeps it). */
  readonly id: string;
  /** The WebSocket URL other nodes dial. */
  readonly address: string;
  /**
   * This run of the node: a restarted node has a new one, so gossip about its previous run
   * (or its removal) never applies to it. Starts with the start time, so the newer run wins.
   */
  readonly uid: string;
}

export interface ClusterOptions {
  /** This node's stable id. */
  readonly id: string;
  /** Interface to listen on (default 127.0.0.1) and port (default any free one). */
  readonly host?: string;
  readonly port?: number;
  /** The URL other nodes dial to reach this one (default `ws://host:port`). */
  readonly advertise?: string;
  /** URLs of nodes to join through; a node with none starts a cluster of its own. */
  readonly seeds?: readonly string[];
  /**
   * Shared secret of the cluster: links that do not present it are refused at the upgrade,
   * so nobody outside the cluster reads or writes its data. Strongly advised off loopback.
   */
  readonly secret?: string;
  /**
   * The URL this node dials to reach `peer` (default its address): where a deployment (or a
   * test cutting links) puts a proxy between two nodes.
   */
  readonly route?: (peer: Member) => string;
  /** A link that has not answered a ping within this long is closed and redialled (default 1 s). */
  readonly heartbeatMs?: number;
  /** Delay before redialling a lost link (default 200 ms). */
  readonly reconnectMs?: number;
  /** Largest message accepted from a peer (default 64 MiB); a larger one closes the link. */
  readonly maxMessageBytes?: number;
  readonly timers?: Timers;
  /** Structured log lines (default: none). */
  readonly log?: (event: string, fields: Record<string, unknown>) => void;
}

/** A handler for a channel: called with the sender's id and the body; a request gets its result as the reply. */
export type Handler = (from: string, body: unknown) => unknown;

type Frame =
  | { c: 'm'; t: 'hello' | 'members'; from?: Member; members: Member[]; removed: string[] }
  | { c: 'm'; t: 'leave'; uid: string }
  | { c: 'r'; rs: number; b?: unknown; e?: string }
  | { c: string; rq?: number; b: unknown };

interface Link {
  readonly member: Member;
  socket: WebSocket | undefined;
  open: boolean;
  /** Frames sent while the link was (re)connecting: flushed when it opens. */
  queue: string[];
  queued: number;
  awaitingPong: boolean;
  retry: unknown;
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
  timer: unknown;
  to: string;
}

const DEFAULT_MAX_MESSAGE = 64 * 1024 * 1024;
/** Bytes held per member while its link is down; beyond it, frames are dropped (gossip repairs). */
const MAX_QUEUED = 8 * 1024 * 1024;

/**
 * A node of a cluster: it listens for the other nodes' links, dials every member it learns of,
 * and gossips membership, so members join through any seed and leave (or are downed) for all.
 *
 * Each link carries messages one way, from the node that dialled it: a reply goes back over
 * the replier's own link. So a cut of the route from A to B stops exactly what A sends to B,
 * which is what a test cutting links (or a real asymmetric partition) needs to see.
 *
 * Membership follows Akka's rule that a member stays a member while unreachable (a majority
 * counts it) until it leaves or is downed: auto-downing an unreachable member is how a
 * partition becomes two clusters that both believe they hold a majority.
 */
export class ClusterNode extends EventEmitter {
  readonly self: Member;
  private readonly server: WebSocketServer;
  private readonly timers: Timers;
  private readonly membersById = new Map<string, Member>();
  private readonly removed = new Set<string>();
  private readonly links = new Map<string, Link>();
  private readonly handlers = new Map<string, Handler>();
  private readonly pending = new Map<number, Pending>();
  private readonly inbound = new Set<WebSocket>();
  private nextRequest = 1;
  private heartbeat: unknown;
  private stopped = false;
  /** Messages from peers that could not be read: counted, logged once per peer. */
  badMessages = 0;
  private readonly loggedBad = new Set<string>();

  private constructor(
    private readonly options: ClusterOptions,
    server: WebSocketServer,
    address: string,
  ) {
    super();
    this.timers = options.timers ?? realTimers;
    this.server = server;
    this.self = {
      id: options.id,
      address,
      uid: `${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`,
    };
    this.membersById.set(this.self.id, this.self);
    server.on('connection', (socket) => this.accept(socket));
    this.heartbeat = this.timers.setInterval(() => this.beat(), options.heartbeatMs ?? 1000);
  }

  /** Listens, then dials the seeds; resolves once listening (joining goes on in the background). */
  static async start(options: ClusterOptions): Promise<ClusterNode> {
    if (!options.id) throw new ClusterError('BAD_ARGUMENT', 'a node needs an id');
    const host = options.host ?? '127.0.0.1';
    const server = await new Promise<WebSocketServer>((resolve, reject) => {
      const wss = new WebSocketServer({
        host,
        port: options.port ?? 0,
        maxPayload: options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE,
        verifyClient: (info: { req: IncomingMessage }) => secretMatches(options.secret, info.req.headers),
      });
      wss.once('listening', () => resolve(wss));
      wss.once('error', reject);
    });
    const port = (server.address() as AddressInfo).port;
    const node = new ClusterNode(options, server, options.advertise ?? `ws://${host}:${port}`);
    for (const seed of options.seeds ?? []) {
      if (seed !== node.self.address) node.dialSeed(seed);
    }
    return node;
  }

  get id(): string {
    return this.self.id;
  }

  /** The members, this node included, reachable or not. */
  members(): Member[] {
    return [...this.membersById.values()];
  }

  /** Members this node has an open link to (itself included). */
  reachable(): string[] {
    return [this.self.id, ...[...this.links.values()].filter((l) => l.open).map((l) => l.member.id)];
  }

  /** The other members this node has an open link to. */
  peers(): string[] {
    return [...this.links.values()].filter((l) => l.open).map((l) => l.member.id);
  }

  isReachable(id: string): boolean {
    return id === this.self.id || this.links.get(id)?.open === true;
  }

  /** Registers the handler of a channel (one per channel). */
  handle(channel: string, handler: Handler): void {
    if (channel === 'm' || channel === 'r')
      throw new ClusterError('BAD_ARGUMENT', `channel ${channel} is reserved`);
    this.handlers.set(channel, handler);
  }

  /**
   * Sends without waiting for anything. While the link to `to` is (re)connecting the frame is
   * queued (up to 8 MiB a member); false if `to` is no member or the queue is full.
   */
  send(to: string, channel: string, body: unknown): boolean {
    return this.sendFrame(to, { c: channel, b: body });
  }

  /** Sends and resolves with the peer's reply; rejects with TIMEOUT if none comes within `timeoutMs`. */
  request(to: string, channel: string, body: unknown, timeoutMs: number): Promise<unknown> {
    if (to === this.self.id) {
      return Promise.resolve().then(() => this.dispatch(this.self.id, channel, body));
    }
    const rq = this.nextRequest++;
    return new Promise((resolve, reject) => {
      const timer = this.timers.setTimeout(() => {
        this.pending.delete(rq);
        reject(new ClusterError('TIMEOUT', `no reply from ${to} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(rq, { resolve, reject, timer, to });
      if (!this.sendFrame(to, { c: channel, rq, b: body })) {
        this.settle(rq, undefined, `${to} is unreachable`);
      }
    });
  }

  /** Joins the cluster a node at `url` belongs to (as a seed given at start does). */
  join(url: string): void {
    if (this.stopped) throw new ClusterError('STOPPED', 'the node stopped');
    this.dialSeed(url);
  }

  /** Leaves the cluster: every member is told (and tells the others), then the node stops. */
  async leave(): Promise<void> {
    for (const id of this.links.keys()) this.sendFrame(id, { c: 'm', t: 'leave', uid: this.self.uid });
    await this.stop();
  }

  /** Removes a member that is gone for good (a crashed machine), for the whole cluster. */
  down(id: string): void {
    const member = this.membersById.get(id);
    if (!member || id === this.self.id) return;
    this.remove(member);
    this.broadcastMembers();
  }

  /** Stops at once: links closed, pending requests rejected with STOPPED. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.timers.clearInterval(this.heartbeat);
    for (const link of this.links.values()) this.closeLink(link);
    for (const [rq, p] of this.pending) {
      this.timers.clearTimeout(p.timer);
      p.reject(new ClusterError('STOPPED', 'the node stopped'));
      this.pending.delete(rq);
    }
    for (const s of this.inbound) s.terminate();
    await new Promise((r) => this.server.close(r));
  }

  // ---- links -------------------------------------------------------------------------

  private dialSeed(url: string): void {
    // A seed is known by its URL only until its hello answers: dial it as an unnamed member.
    const seed: Member = { id: `seed:${url}`, address: url, uid: '' };
    this.connect(newLink(seed), true);
  }

  private connect(link: Link, isSeed = false): void {
    if (this.stopped) return;
    const url = isSeed ? link.member.address : (this.options.route?.(link.member) ?? link.member.address);
    const headers = this.options.secret ? { 'x-concord-cluster': this.options.secret } : undefined;
    const socket = new WebSocket(url, {
      headers,
      maxPayload: this.options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE,
    });
    link.socket = socket;
    if (!isSeed) this.links.set(link.member.id, link);
    socket.on('open', () => {
      if (link.socket !== socket) return;
      link.open = !isSeed;
      link.awaitingPong = false;
      socket.send(JSON.stringify(this.membership('hello')));
      for (const frame of link.queue) socket.send(frame);
      link.queue = [];
      link.queued = 0;
      if (!isSeed) this.emit('reachable', link.member.id);
      else this.seedLinks.add(socket);
    });
    socket.on('pong', () => {
      link.awaitingPong = false;
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.seedLinks.delete(socket);
      if (link.socket !== socket) return;
      const wasOpen = link.open;
      link.open = false;
      link.socket = undefined;
      if (wasOpen) {
        this.emit('unreachable', link.member.id);
        this.failPending(link.member.id);
      }
      // A seed dialled before any member was known is redialled until the cluster answers.
      const keep = isSeed ? this.membersById.size === 1 : this.links.get(link.member.id) === link;
      if (keep && !this.stopped) {
        link.retry = this.timers.setTimeout(
          () => this.connect(link, isSeed),
          this.options.reconnectMs ?? 200,
        );
      }
    });
    // A seed link only introduces this node; once its hello is answered it is closed.
  }

  private readonly seedLinks = new Set<WebSocket>();

  private closeLink(link: Link): void {
    this.timers.clearTimeout(link.retry);
    const s = link.socket;
    link.socket = undefined;
    link.open = false;
    s?.terminate();
  }

  private beat(): void {
    for (const link of this.links.values()) {
      if (!link.open || !link.socket) continue;
      if (link.awaitingPong) {
        link.socket.terminate(); // silent too long: treat as lost, redial
        continue;
      }
      link.awaitingPong = true;
      link.socket.ping();
    }
  }

  private sendFrame(to: string, frame: Frame): boolean {
    const link = this.links.get(to);
    if (!link) return false;
    const text = JSON.stringify(frame);
    if (link.open && link.socket) {
      link.socket.send(text);
      return true;
    }
    if (link.queued + text.length > MAX_QUEUED) return false;
    link.queue.push(text);
    link.queued += text.length;
    return true;
  }

  private accept(socket: WebSocket): void {
    this.inbound.add(socket);
    let from: string | undefined;
    socket.on('error', () => undefined);
    socket.on('close', () => this.inbound.delete(socket));
    socket.on('message', (data: RawData, isBinary: boolean) => {
      let frame: Frame;
      try {
        if (isBinary) throw new Error('binary frame');
        frame = JSON.parse(data.toString()) as Frame;
        if (typeof frame !== 'object' || frame === null || typeof frame.c !== 'string')
          throw new Error('no channel');
      } catch (e) {
        this.bad(from ?? 'unknown', e);
        return;
      }
      if (frame.c === 'm' && 'members' in frame && frame.t === 'hello' && frame.from) from = frame.from.id;
      if (from === undefined) {
        this.bad('unknown', new Error('a message before hello'));
        socket.close(1008, 'hello first');
        return;
      }
      this.receive(from, frame);
    });
  }

  private bad(from: string, e: unknown): void {
    this.badMessages++;
    if (this.loggedBad.has(from)) return;
    this.loggedBad.add(from);
    this.options.log?.('cluster.bad_message', { from, error: e instanceof Error ? e.message : String(e) });
  }

  // ---- messages ----------------------------------------------------------------------

  private receive(from: string, frame: Frame): void {
    if (frame.c === 'm') {
      if ('uid' in frame) this.onLeave(frame.uid);
      else this.onMembers(frame as { t: string; from?: Member; members: Member[]; removed: string[] });
      return;
    }
    if (frame.c === 'r') {
      const r = frame as { rs: number; b?: unknown; e?: string };
      this.settle(r.rs, r.b, r.e);
      return;
    }
    const f = frame as { c: string; rq?: number; b: unknown };
    if (f.rq === undefined) {
      this.dispatch(from, f.c, f.b).catch((e) => this.bad(from, e));
      return;
    }
    const rq = f.rq;
    this.dispatch(from, f.c, f.b).then(
      (b) => this.sendFrame(from, { c: 'r', rs: rq, b }),
      (e: unknown) => this.sendFrame(from, { c: 'r', rs: rq, e: e instanceof Error ? e.message : String(e) }),
    );
  }

  private async dispatch(from: string, channel: string, body: unknown): Promise<unknown> {
    const handler = this.handlers.get(channel);
    if (!handler) throw new Error(`no handler for channel ${channel}`);
    return await handler(from, body);
  }

  private settle(rq: number, body: unknown, error: string | undefined): void {
    const p = this.pending.get(rq);
    if (!p) return;
    this.pending.delete(rq);
    this.timers.clearTimeout(p.timer);
    if (error === undefined) p.resolve(body);
    else p.reject(new ClusterError('TIMEOUT', error));
  }

  private failPending(to: string): void {
    for (const [rq, p] of this.pending)
      if (p.to === to) this.settle(rq, undefined, `the link to ${to} was lost`);
  }

  // ---- membership --------------------------------------------------------------------

  private membership(t: 'hello' | 'members'): Frame {
    return { c: 'm', t, from: this.self, members: this.members(), removed: [...this.removed] };
  }

  private onMembers(frame: { t: string; from?: Member; members: Member[]; removed: string[] }): void {
    if (!Array.isArray(frame.members) || !Array.isArray(frame.removed)) return;
    let changed = false;
    for (const uid of frame.removed) {
      if (typeof uid !== 'string' || this.removed.has(uid)) continue;
      this.removed.add(uid);
      const gone = [...this.membersById.values()].find((m) => m.uid === uid);
      if (gone && gone.id !== this.self.id) this.remove(gone);
      changed = true;
    }
    for (const m of frame.members) {
      if (!isMember(m) || this.removed.has(m.uid) || m.id === this.self.id) continue;
      const known = this.membersById.get(m.id);
      if (known?.uid === m.uid) continue;
      if (known && known.uid > m.uid) continue; // gossip about an earlier run of a restarted node
      if (known) this.remove(known); // a newer run replaces the old one
      this.add(m);
      changed = true;
    }
    if (frame.t === 'hello') {
      // The dialler learns the cluster from this node's own reply, over this node's link to it.
      const from = frame.from;
      if (from && isMember(from)) this.sendFrame(from.id, this.membership('members'));
      for (const s of this.seedLinks) s.close();
    }
    if (changed) this.broadcastMembers();
  }

  private onLeave(uid: string): void {
    if (typeof uid !== 'string') return;
    const member = [...this.membersById.values()].find((m) => m.uid === uid);
    if (!member) return;
    this.remove(member);
    this.broadcastMembers();
  }

  private add(member: Member): void {
    this.membersById.set(member.id, member);
    const link = newLink(member);
    this.links.set(member.id, link);
    this.connect(link);
    this.emit('member-up', member);
  }

  private remove(member: Member): void {
    this.removed.add(member.uid);
    this.membersById.delete(member.id);
    const link = this.links.get(member.id);
    if (link) {
      this.links.delete(member.id);
      const wasOpen = link.open;
      this.closeLink(link);
      if (wasOpen) this.failPending(member.id);
    }
    this.emit('member-removed', member);
  }

  private broadcastMembers(): void {
    const frame = this.membership('members');
    for (const id of this.links.keys()) this.sendFrame(id, frame);
  }
}

function newLink(member: Member): Link {
  return {
    member,
    socket: undefined,
    open: false,
    queue: [],
    queued: 0,
    awaitingPong: false,
    retry: undefined,
  };
}

function isMember(m: unknown): m is Member {
  const x = m as Member;
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof x.id === 'string' &&
    typeof x.address === 'string' &&
    typeof x.uid === 'string' &&
    x.uid !== ''
  );
}

function secretMatches(secret: string | undefined, headers: IncomingMessage['headers']): boolean {
  if (secret === undefined) return true;
  const given = headers['x-concord-cluster'];
  if (typeof given !== 'string') return false;
  const a = Buffer.from(given);
  const b = Buffer.from(secret);
  return a.length === b.length && timingSafeEqual(a, b);
}
