export { type AttachmentFetcher, Attachments } from './Attachments.js';
export { type Change, decodeChanges, encodeChanges } from './Change.js';
export { Collection } from './Collection.js';
export type { Doc } from './CollectionState.js';
export {
  type ChangeEvent,
  type ChangeSet,
  type CollectionSchema,
  Database,
  type DatabaseOptions,
  type ServerBatch,
} from './Database.js';
export type { Conflict, FieldKind, WriteMode } from './Document.js';
export { DbError, type DbErrorCode } from './errors.js';
export type { Observer, ResultChanges } from './LiveQuery.js';
export {
  checkCollectionName,
  checkDocument,
  checkId,
  MAX_COLLECTION_BYTES,
  MAX_DOCUMENT_BYTES,
  MAX_ID_BYTES,
  MAX_NESTING,
} from './limits.js';
export { Preview } from './Preview.js';
export { checkQuery, filterTerms, matches, type Operators, type Query, type Where } from './query/Query.js';
export { decodeSnapshot, encodeSnapshot, type Snapshot } from './Snapshot.js';
export { absentStoredDocument } from './StoredDocument.js';
export {
  type AcceptanceCase,
  DEFERRING_ACCEPTANCE,
  STORAGE_ACCEPTANCE,
  type StorageFactory,
} from './storage/acceptance.js';
export { IndexedDbStorage } from './storage/IndexedDbStorage.js';
export { MemoryStorage } from './storage/MemoryStorage.js';
export type {
  CollectionJson,
  Commit,
  DeferringStorage,
  Storage,
  StoredChange,
  StoredDoc,
} from './storage/Storage.js';
export { TRANSPORT_ACCEPTANCE, type TransportCase, type TransportFactory } from './sync/acceptance.js';
export { MemoryTransport } from './sync/MemoryTransport.js';
export {
  type ClientMessage,
  type DocRef,
  type DocState,
  decodeMessage,
  encodeMessage,
  MAX_MESSAGE_BYTES,
  type Message,
  PROTOCOL_VERSION,
  type Progress,
  type ServerMessage,
  type Subscription,
  type SubscriptionState,
} from './sync/Protocol.js';
export {
  SyncClient,
  type SyncErrorEvent,
  type SyncOptions,
  type SyncProgress,
  type SyncStatus,
  subscriptionKey,
  type Timers,
} from './sync/SyncClient.js';
export { closeCodeError, SYNC_ERROR_CODES, SyncError, type SyncErrorCode } from './sync/SyncError.js';
export { BaseTransport, type CloseInfo, NORMAL_CLOSE, type Transport } from './sync/Transport.js';
export { type WebSocketLike, WebSocketTransport } from './sync/WebSocketTransport.js';
export type { Transaction, UpsertOptions } from './Transaction.js';
export {
  type AttachmentRef,
  counter,
  flag,
  list,
  map,
  type PropertyKind,
  set,
  Typed,
  text,
} from './values.js';
