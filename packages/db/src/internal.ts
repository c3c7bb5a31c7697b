/**
 * `@concord/db/internal`: what Concord's sync server builds on — taking in a server's batches,
 * stored forms, previews of writes, the sync protocol's messages, the limits' checks. Not a
 * stable API: it changes with the server, without notice.
 */
export { core } from './core.js';
export type { ServerBatch } from './Database.js';
export { INFLATE_ACCEPTANCE } from './inflateAcceptance.js';
export { checkCollectionName, checkDocument, checkId } from './limits.js';
export type { PeerExchange } from './PeerExchange.js';
export { Preview } from './Preview.js';
export { checkQuery, filterTerms, matches } from './query/Query.js';
export type { Replica } from './Replica.js';
export { schemaIssues } from './Schema.js';
export type { ServerState } from './ServerState.js';
export { absentStoredDocument } from './StoredDocument.js';
export { pgIdent } from './storage/pgIdent.js';
export { SCHEMA_LOCK } from './storage/schemaLock.js';
export {
  type ChunkRef,
  type ClientMessage,
  type DocRef,
  type DocState,
  decodeMessage,
  encodeMessage,
  encodeMessageAsync,
  MAX_MESSAGE_BYTES,
  type Message,
  PROTOCOL_VERSION,
  type ServerMessage,
  type SubscriptionState,
} from './sync/Protocol.js';
export { subscriptionKey } from './sync/SyncClient.js';
export { closeCodeError } from './sync/SyncError.js';
export { Typed } from './values.js';
