import { describe, expect, it } from 'vitest';

/**
 * The package's public API, pinned: adding or removing an export is a decision made here, in
 * review, not an accident. `internal` entry points are listed too, as they are what the other
 * packages build on (unstable, but not to grow by accident either). Types are not listed: they
 * are checked by the packages that use them.
 */
describe('@concord/crdt exports', () => {
  it('@concord/crdt', async () => {
    expect(Object.keys(await import('@concord/crdt')).sort()).toEqual([
      'CausalContext',
      'CausalRegister',
      'ClockDriftError',
      'DEFAULT_MAX_DRIFT_MS',
      'DecodeError',
      'Embedded',
      'FORMAT_VERSION',
      'Flag',
      'GCounter',
      'GSet',
      'HybridLogicalClock',
      'InvalidArgumentError',
      'LWWMap',
      'LWWRegister',
      'List',
      'MAX_DEPTH',
      'MVRegister',
      'ORMap',
      'ORSet',
      'PNCounter',
      'Text',
      'TwoPhaseSet',
      'VersionVector',
      'compareDots',
      'compareTimestamps',
      'decodeCausalContext',
      'decodeCrdt',
      'decodeTimestamp',
      'decodeVersionVector',
      'encodeCausalContext',
      'encodeCrdt',
      'encodeTimestamp',
      'encodeVersionVector',
      'jsonEqual',
      'merge',
      'newReplicaId',
      'replicaId',
      'typeOf',
    ]);
  });
  it('@concord/crdt/internal', async () => {
    expect(Object.keys(await import('@concord/crdt/internal')).sort()).toEqual([
      'CRDT_TYPES',
      'Causal',
      'Decoder',
      'Encoder',
      'Interner',
      'assertJson',
      'deepFreeze',
      'isJsonScalar',
      'isStorableText',
      'jsonKey',
      'readDot',
      'readTimestamp',
      'runReplicaId',
      'uintWidth',
      'writeDot',
      'writeTimestamp',
      'writeUint',
    ]);
  });
});
