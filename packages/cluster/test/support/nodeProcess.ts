// A cluster node in a process of its own, driven by its test over IPC: the test starts it,
// cuts its links with proxies, kills it with SIGKILL and restarts it from its SQLite file.
import { join } from 'node:path';
import {
  ClusterNode,
  ClusterReplication,
  type Consistency,
  ReplicatedEntity,
  Replicator,
} from '@concord/cluster';
import { SqliteJournal, SqliteReplicatorStore } from '@concord/cluster/sqlite';
import { GCounter, ORSet, PNCounter } from '@concord/crdt';

export interface NodeConfig {
  id: string;
  port: number;
  dir: string;
  seeds: string[];
  /** The URL this node dials for each peer id (a proxy the test controls). */
  routes: Record<string, string>;
  /** Every node's id: the replicas of the entity each node hosts. */
  replicas: string[];
}

export type Command =
  | { op: 'add'; key: string; element: string; write?: Consistency; timeout?: number }
  | { op: 'inc'; key: string; amount: number; write?: Consistency; timeout?: number }
  | { op: 'delete'; key: string; write?: Consistency; timeout?: number }
  | { op: 'value'; key: string }
  | { op: 'record'; order: string }
  | { op: 'orders' }
  | { op: 'reachable' }
  | { op: 'members' };

const config = JSON.parse(process.argv[2]!) as NodeConfig;
const node = await ClusterNode.start({
  id: config.id,
  port: config.port,
  seeds: config.seeds,
  secret: 'chaos',
  heartbeatMs: 200,
  reconnectMs: 50,
  route: (peer) => config.routes[peer.id] ?? peer.address,
});
const dd = new Replicator(node, {
  gossipIntervalMs: 100,
  store: new SqliteReplicatorStore(join(config.dir, `${config.id}.db`)),
});

// A replicated event-sourced log of orders: appends do not commute, so the replicas agree
// only because every one applies events in the same ('timestamp') order.
const orders = await ReplicatedEntity.open<string[], string, string>({
  persistenceId: 'orders',
  replica: config.id,
  replicas: config.replicas,
  emptyState: [],
  commandHandler: (_state, order) => order,
  eventHandler: (state, order) => [...state, order],
  ordering: 'timestamp',
  journal: new SqliteJournal(join(config.dir, `${config.id}-journal.db`)),
  replication: new ClusterReplication(node, { pullIntervalMs: 100 }),
  snapshotEvery: 25,
});

async function run(cmd: Command): Promise<unknown> {
  const opts = 'write' in cmd ? { write: cmd.write ?? 'local', timeout: cmd.timeout ?? 1000 } : {};
  switch (cmd.op) {
    case 'add':
      await dd.update(cmd.key, ORSet, (s, me) => s.add(me, cmd.element), opts);
      return true;
    case 'inc':
      // A counter that only grows is a GCounter; one given a negative amount a PNCounter.
      if (cmd.amount >= 0) await dd.update(cmd.key, GCounter, (s, me) => s.increment(me, cmd.amount), opts);
      else await dd.update(cmd.key, PNCounter, (s, me) => s.decrement(me, -cmd.amount), opts);
      return true;
    case 'delete':
      await dd.delete(cmd.key, opts);
      return true;
    case 'value':
      return (await dd.get(cmd.key))?.value() ?? null;
    case 'record':
      return (await orders.command(cmd.order)).length;
    case 'orders':
      return orders.state;
    case 'reachable':
      return node.reachable().sort();
    case 'members':
      return node
        .members()
        .map((m) => m.id)
        .sort();
  }
}

process.on('message', (msg: { rq: number; cmd: Command }) => {
  run(msg.cmd).then(
    (result) => process.send!({ rq: msg.rq, result }),
    (e: { code?: string; message?: string }) => process.send!({ rq: msg.rq, error: e.code ?? e.message }),
  );
});
process.send!({ ready: node.self.address });
