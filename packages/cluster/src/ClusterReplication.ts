import type { ClusterNode } from './ClusterNode.js';
import { vvOf } from './Entry.js';
import type { EventReplication, ReplicationEndpoint } from './EventReplication.js';
import type { JournalEvent } from './ReplicatedEvent.js';
import { realTimers, type Timers } from './Timers.js';

export interface ClusterReplicationOptions {
  /** How often each entity asks every reachable member for events it lacks (default 1 s). */
  readonly pullIntervalMs?: number;
  /** Most events one answer carries; a replica further behind asks again (default 1,000). */
  readonly batch?: number;
  readonly timers?: Timers;
}

const CHANNEL = 'res';

type Message =
  | { op: 'events'; pid: string; events: JournalEvent[] }
  | { op: 'pull'; pid: string; version: Record<string, number> };

/**
 * Replicated event sourcing over the cluster's own links, for devices with no broker between
 * them: new events are pushed to every reachable member as they are journaled, and each
 * entity pulls what it lacks (by version vector) from every member when one becomes
 * reachable and every `pullIntervalMs` — so events missed while a link was down, or while a
 * replica was down, arrive without anyone tracking what was sent. Any replica serves any
 * other's events, so two replicas that never meet still converge through a third.
 */
export class ClusterReplication implements EventReplication {
  private readonly endpoints = new Map<string, ReplicationEndpoint>();
  private readonly timers: Timers;
  private readonly timer: unknown;

  constructor(
    private readonly node: ClusterNode,
    private readonly options: ClusterReplicationOptions = {},
  ) {
    this.timers = options.timers ?? realTimers;
    node.handle(CHANNEL, (_from, body) => this.receive(body as Message));
    node.on('reachable', (id: string) => {
      for (const e of this.endpoints.values()) void this.pull(e, id);
    });
    this.timer = this.timers.setInterval(() => {
      for (const e of this.endpoints.values()) for (const id of this.node.peers()) void this.pull(e, id);
    }, options.pullIntervalMs ?? 1000);
  }

  attach(endpoint: ReplicationEndpoint): () => void {
    this.endpoints.set(endpoint.persistenceId, endpoint);
    for (const id of this.node.peers()) void this.pull(endpoint, id);
    return () => {
      if (this.endpoints.get(endpoint.persistenceId) === endpoint)
        this.endpoints.delete(endpoint.persistenceId);
    };
  }

  publish(endpoint: ReplicationEndpoint, events: readonly JournalEvent[]): void {
    for (const id of this.node.peers())
      this.node.send(id, CHANNEL, { op: 'events', pid: endpoint.persistenceId, events });
  }

  /** Stops pulling (the node is the caller's to stop). */
  close(): void {
    this.timers.clearInterval(this.timer);
    this.endpoints.clear();
  }

  private async pull(endpoint: ReplicationEndpoint, peer: string): Promise<void> {
    try {
      for (;;) {
        const reply = await this.node.request(
          peer,
          CHANNEL,
          { op: 'pull', pid: endpoint.persistenceId, version: endpoint.version().toJSON() },
          5000,
        );
        if (!Array.isArray(reply) || reply.length === 0) return;
        const before = endpoint.version().toJSON();
        await endpoint.deliver(reply as JournalEvent[]);
        // A full batch that moved us on: there may be more.
        if (reply.length < (this.options.batch ?? 1000)) return;
        if (JSON.stringify(endpoint.version().toJSON()) === JSON.stringify(before)) return;
      }
    } catch {
      // Unreachable or slow: the next pull tries again.
    }
  }

  private async receive(msg: Message): Promise<unknown> {
    const endpoint = typeof msg?.pid === 'string' ? this.endpoints.get(msg.pid) : undefined;
    if (!endpoint) return [];
    if (msg.op === 'events' && Array.isArray(msg.events)) {
      await endpoint.deliver(msg.events);
      return [];
    }
    if (msg.op === 'pull') return endpoint.eventsAfter(vvOf(msg.version), this.options.batch ?? 1000);
    return [];
  }
}
