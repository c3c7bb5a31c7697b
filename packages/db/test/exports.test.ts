import { describe, expect, it } from 'vitest';

/**
 * The package's public API, pinned: adding or removing an export is a decision made here, in
 * review, not an accident. `internal` entry points are listed too, as they are what the other
 * packages build on (unstable, but not to grow by accident either). Types are not listed: they
 * are checked by the packages that use them.
 */
describe('@concord/db exports', () => {
  it('@concord/db', async () => {
    expect(Object.keys(await import('@concord/db')).sort()).toEqual([
      'ATTACHMENT_PIECE_BYTES',
      'Attachments',
      'BaseTransport',
      'Collection',
      'DEFERRING_ACCEPTANCE',
      'Database',
      'DbError',
      'IndexedDbStorage',
      'MAX_COLLECTION_BYTES',
      'MAX_DOCUMENT_BYTES',
      'MAX_ID_BYTES',
      'MAX_NESTING',
      'MemoryStorage',
      'MemoryTransport',
      'NORMAL_CLOSE',
      'STORAGE_ACCEPTANCE',
      'SYNC_ERROR_CODES',
      'SyncClient',
      'SyncError',
      'TRANSPORT_ACCEPTANCE',
      'WebSocketTransport',
      'counter',
      'decodeChanges',
      'decodeSnapshot',
      'encodeChanges',
      'encodeSnapshot',
      'flag',
      'isAttachmentRef',
      'list',
      'map',
      'set',
      'text',
    ]);
  });
  it('@concord/db/sqlite', async () => {
    expect(Object.keys(await import('@concord/db/sqlite')).sort()).toEqual(['SqliteStorage']);
  });
  it('@concord/db/postgres', async () => {
    expect(Object.keys(await import('@concord/db/postgres')).sort()).toEqual(['PostgresStorage']);
  });
  it('@concord/db/internal', async () => {
    expect(Object.keys(await import('@concord/db/internal')).sort()).toEqual([
      'INFLATE_ACCEPTANCE',
      'MAX_MESSAGE_BYTES',
      'PROTOCOL_VERSION',
      'Preview',
      'SCHEMA_LOCK',
      'Typed',
      'absentStoredDocument',
      'checkCollectionName',
      'checkDocument',
      'checkId',
      'checkQuery',
      'closeCodeError',
      'core',
      'decodeMessage',
      'encodeMessage',
      'encodeMessageAsync',
      'filterTerms',
      'matches',
      'pgIdent',
      'schemaIssues',
      'subscriptionKey',
    ]);
  });
});
