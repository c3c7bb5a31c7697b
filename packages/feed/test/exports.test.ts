import { describe, expect, it } from 'vitest';

/** The package's public API, pinned: adding or removing an export is a decision made here. */
describe('@concord/feed exports', () => {
  it('@concord/feed', async () => {
    expect(Object.keys(await import('@concord/feed')).sort()).toEqual([
      'CatalogueIngest',
      'DEFAULT_STREAM',
      'FeedConsumer',
      'FeedError',
      'FeedStream',
      'SqlProjection',
      'contentId',
      'feedRecord',
      'formatOf',
      'publishFeed',
      'readFeed',
      'readFeedStream',
    ]);
  });
});
