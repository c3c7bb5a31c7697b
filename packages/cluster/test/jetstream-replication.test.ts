// Replicated event sourcing through the real NATS JetStream: a stream per replica, consumed
// by the others; a replica that was down catches up from the streams alone; NATS restarted
// mid-run loses nothing.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReplicatedEntity } from '@concord/cluster';
import { JetStreamReplication } from '@concord/cluster/jetstream';
import { SqliteJournal } from '@concord/cluster/sqlite';
import { freePorts, kill9, ownNatsServer, requireNats, until } from '@concord/testkit';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, describe, expect, it } from 'vitest';

const REPLICAS = ['hq', 's1', 's2'];
const dir = mkdtempSync(join(tmpdir(), 'res-js-'));
const deployments: string[] = [];
const connections: NatsConnection[] = [];

afterAll(async () => {
  const nc = await connect({ servers: await requireNats() });
  const jsm = await jetstreamManager(nc);
  for (const d of deployments)
    for (const r of REPLICAS) await jsm.streams.delete(`${d}_res_${r}`).catch(() => undefined);
  await nc.close();
  for (const c of connections) await c.close().catch(() => undefined);
});

async function replica(servers: string, deployment: string, id: string) {
  const nc = await connect({ servers, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  connections.push(nc);
  const replication = await JetStreamReplication.start({
    nc,
    deployment,
    replica: id,
    replicas: REPLICAS,
    retryMs: 100,
  });
  const entity = await ReplicatedEntity.open<string[], string, string>({
    persistenceId: 'price-changes',
    replica: id,
    replicas: REPLICAS,
    emptyState: [],
    commandHandler: (_s, line) => line,
    eventHandler: (s, line) => [...s, line],
    ordering: 'timestamp',
    journal: new SqliteJournal(join(dir, `${deployment}-${id}.db`)),
    replication,
  });
  return {
    entity,
    replication,
    async close() {
      await entity.close();
      await replication.close();
      await nc.close();
    },
  };
}

async function sameLog(entities: ReplicatedEntity<string[], string, string>[], count: number) {
  await until(
    () =>
      entities.every(
        (e) => e.state.length === count && JSON.stringify(e.state) === JSON.stringify(entities[0]!.state),
      ),
    `every replica holds the same ${count} events`,
    20_000,
  );
}

describe('JetStreamReplication', () => {
  it('three replicas write in parallel; one down meanwhile catches up from the streams alone', async () => {
    const servers = await requireNats();
    const deployment = `res_${process.pid}_a`;
    deployments.push(deployment);
    const [hq, s1, s2] = await Promise.all(REPLICAS.map((id) => replica(servers, deployment, id)));
    await Promise.all(
      [hq!, s1!, s2!].flatMap((r, i) =>
        Array.from({ length: 30 }, (_, k) => r.entity.command(`${REPLICAS[i]}-${k}`)),
      ),
    );
    await sameLog([hq!.entity, s1!.entity, s2!.entity], 90);

    // s2 goes down; hq and s1 write; hq goes down too; s2 restarts from its journal and reads
    // hq's events from hq's stream though hq is not running.
    await s2!.close();
    for (let k = 0; k < 10; k++) await hq!.entity.command(`hq-late-${k}`);
    await s1!.entity.command('s1-late');
    await until(() => s1!.entity.state.length === 101, 's1 has hq-late');
    await hq!.close();
    const back = await replica(servers, deployment, 's2');
    await sameLog([s1!.entity, back.entity], 101);
    expect(new Set(back.entity.state).size).toBe(101);
    await s1!.close();
    await back.close();
  });

  it('NATS restarted mid-run: replicas reconnect, publish what they wrote meanwhile, and converge', async () => {
    const [port] = await freePorts(1);
    const nats = await ownNatsServer(join(dir, 'nats-store'), port);
    let server = await nats.start();
    const deployment = `res_${process.pid}_b`;
    const rs = await Promise.all(REPLICAS.map((id) => replica(nats.url, deployment, id)));
    try {
      for (let k = 0; k < 10; k++)
        await Promise.all(rs.map((r, i) => r.entity.command(`${REPLICAS[i]}-${k}`)));
      await kill9(server);
      // Commands are accepted while the broker is down: journaled locally, published later.
      for (let k = 10; k < 20; k++)
        await Promise.all(rs.map((r, i) => r.entity.command(`${REPLICAS[i]}-${k}`)));
      server = await nats.start();
      await sameLog(
        rs.map((r) => r.entity),
        60,
      );
    } finally {
      for (const r of rs) await r.close().catch(() => undefined);
      await kill9(server);
    }
  });
});
