/**
 * `@concord/feed`: seed 000's feed pipeline on NATS JetStream — a product feed published once
 * per content, consumed into a plain SQL table and into Concord's catalogue, from which the
 * sync server broadcasts to the stores.
 */
export { CatalogueIngest, type CatalogueIngestOptions } from './CatalogueIngest.js';
export { type ConsumerStats, FeedConsumer, type FeedMessage } from './FeedConsumer.js';
export { FeedError, type FeedErrorCode } from './FeedError.js';
export { type PublishProgress, publishFeed } from './FeedPublisher.js';
export { contentId, type FeedRecord, feedRecord } from './FeedRecord.js';
export { DEFAULT_STREAM, FeedStream } from './FeedStream.js';
export { type FeedFormat, formatOf, readFeed, readFeedStream } from './readFeed.js';
export { type ColumnType, type ProjectionOptions, SqlProjection } from './SqlProjection.js';
