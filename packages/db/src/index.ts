/**
 * `@concord/db`: a local-first document database for browsers and Node — collections, queries,
 * storage adapters, transports and the sync client. SQLite and PostgreSQL storage are at
 * `@concord/db/sqlite` and `@concord/db/postgres`; what Concord's server builds on, at
 * `@concord/db/internal`.
 */
export {
  ATTACHMENT_PIECE_BYTES,
  type AttachmentFetcher,
  Attachments,
  type AttachmentUploader,
} from './Attachments.js';
export { type Change, decodeChanges, encodeChanges } from './Change.js';
export { Collection, type DocInput, type Draft } from './Collection.js';
export type { Doc } from './CollectionState.js';
export {
  type ChangeEvent,
  type ChangeSet,
  type CollectionSchema,
  Database,
  type DatabaseOptions,
} from './Database.js';
export type { Conflict, FieldKind, WriteMode } from './Document.js';
export { DbError, type DbErrorCode } from './errors.js';
export type { Observer, ResultChanges } from './LiveQuery.js';
export {
  MAX_COLLECTION_BYTES,
  MAX_DOCUMENT_BYTES,
  MAX_ID_BYTES,
  MAX_NESTING,
} from './limits.js';
export type { Operators, Query, Where } from './query/Query.js';
export { decodeSnapshot, encodeSnapshot, type Snapshot } from './Snapshot.js';
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
  PackedDocs,
  Storage,
  StoredChange,
  StoredDoc,
} from './storage/Storage.js';
export { TRANSPORT_ACCEPTANCE, type TransportCase, type TransportFactory } from './sync/acceptance.js';
export { MemoryTransport } from './sync/MemoryTransport.js';
export type { Progress, Subscription } from './sync/Protocol.js';
export {
  SyncClient,
  type SyncErrorEvent,
  type SyncEvents,
  type SyncOptions,
  type SyncProgress,
  type SyncStatus,
  type SyncTarget,
  type Timers,
} from './sync/SyncClient.js';
export { SYNC_ERROR_CODES, SyncError, type SyncErrorCode } from './sync/SyncError.js';
export { BaseTransport, type CloseInfo, NORMAL_CLOSE, type Transport } from './sync/Transport.js';
export { type WebSocketLike, WebSocketTransport } from './sync/WebSocketTransport.js';
export type { Transaction, UpsertOptions } from './Transaction.js';
export {
  type AttachmentRef,
  counter,
  flag,
  isAttachmentRef,
  list,
  map,
  type PropertyKind,
  set,
  text,
} from './values.js';
