import { describe, expect, it } from 'vitest';

/** The package's public API, pinned: adding or removing an export is a decision made here. */
describe('@concord/cluster exports', () => {
  it('@concord/cluster', async () => {
    expect(Object.keys(await import('@concord/cluster')).sort()).toEqual([
      'ClusterError',
      'ClusterNode',
      'ClusterReplication',
      'MemoryJournal',
      'ReplicatedEntity',
      'Replicator',
      'compareEvents',
    ]);
  });
  it('@concord/cluster/postgres', async () => {
    expect(Object.keys(await import('@concord/cluster/postgres')).sort()).toEqual(['PostgresJournal']);
  });
  it('@concord/cluster/jetstream', async () => {
    expect(Object.keys(await import('@concord/cluster/jetstream')).sort()).toEqual(['JetStreamReplication']);
  });
  it('@concord/cluster/sqlite', async () => {
    expect(Object.keys(await import('@concord/cluster/sqlite')).sort()).toEqual([
      'SqliteJournal',
      'SqliteReplicatorStore',
    ]);
  });
});
