import { describe, expect, it } from 'vitest';

/** The package's public API, pinned: adding or removing an export is a decision made here. */
describe('@concord/react exports', () => {
  it('@concord/react', async () => {
    expect(Object.keys(await import('@concord/react')).sort()).toEqual([
      'ConcordProvider',
      'useConcord',
      'useDatabase',
      'useDocument',
      'useQuery',
      'useSyncStatus',
    ]);
  });
});
