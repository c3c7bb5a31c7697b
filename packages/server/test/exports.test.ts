import { describe, expect, it } from 'vitest';

/**
 * The package's public API, pinned: adding or removing an export is a decision made here, in
 * review, not an accident. `internal` entry points are listed too, as they are what the other
 * packages build on (unstable, but not to grow by accident either). Types are not listed: they
 * are checked by the packages that use them.
 */
describe('@concord/server exports', () => {
  it('@concord/server', async () => {
    expect(Object.keys(await import('@concord/server')).sort()).toEqual([
      'DEFAULT_LIMITS',
      'FeedIngest',
      'HttpServer',
      'SyncServer',
      'allowEverything',
      'jwtAuthenticator',
      'seedDemo',
    ]);
  });
  it('@concord/server/internal', async () => {
    expect(Object.keys(await import('@concord/server/internal')).sort()).toEqual([
      'ChangeLog',
      'LogSnapshots',
      'Metrics',
      'Session',
      'SubscriptionFilter',
      'mayWrite',
      'scope',
    ]);
  });
});
