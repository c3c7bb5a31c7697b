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
} from './Database.js';
export type { Conflict, WriteMode } from './Document.js';
export { DbError, type DbErrorCode } from './errors.js';
export type { Observer, ResultChanges } from './LiveQuery.js';
export type { Operators, Query, Where } from './query/Query.js';
export { decodeSnapshot, encodeSnapshot, type Snapshot } from './Snapshot.js';
export { type AcceptanceCase, STORAGE_ACCEPTANCE, type StorageFactory } from './storage/acceptance.js';
export { IndexedDbStorage } from './storage/IndexedDbStorage.js';
export { MemoryStorage } from './storage/MemoryStorage.js';
export { type PostgresOptions, PostgresStorage } from './storage/PostgresStorage.js';
export { SqliteStorage } from './storage/SqliteStorage.js';
export type { Commit, Storage, StoredChange, StoredDoc } from './storage/Storage.js';
export { TRANSPORT_ACCEPTANCE, type TransportCase, type TransportFactory } from './sync/acceptance.js';
export { MemoryTransport } from './sync/MemoryTransport.js';
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
