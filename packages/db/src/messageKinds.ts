/**
 * Every codec message kind the database and its sync protocol write — the kind byte after
 * `FORMAT_VERSION` in a message's header — in one table, so that no two meanings share one.
 * Below 64 are the CRDT library's type tags and below 96 its own kinds; 96 was the change batch
 * before its sequence numbers were delta-coded, and stays unused.
 */
export const MESSAGE_KINDS = {
  /** A whole database at a version (`Snapshot`), its stored forms one after another. */
  snapshot: 114,
  /** A snapshot as written before 114, its stored forms as two columns: still read (change logs keep snapshots). */
  columnSnapshot: 97,
  /** Another message, deflated (`Deflated`). */
  deflated: 98,
  /** A document's state beside its JSON: the stored form (`StoredDocument`). */
  storedState: 99,
  /** The state beside the JSON of a document written whole: the write's timestamp (`StoredDocument`). */
  storedWritten: 115,
  // The sync protocol's messages (sync/Protocol).
  hello: 100,
  push: 101,
  ping: 102,
  pong: 103,
  welcome: 104,
  chunk: 105,
  update: 106,
  synced: 107,
  ack: 108,
  reject: 109,
  error: 110,
  /** Where a subscription's initial snapshot chunks are to be fetched over HTTP (sync/Protocol). */
  manifest: 113,
  /** A batch of changes (`Change`). */
  changes: 111,
  /** A logged change that wrote a new document whole: its ops are its stored form's state (`WrittenDocument`). */
  loggedWritten: 112,
  /** A subscription's position as a sync client keeps it in meta (sync/SyncClient). */
  position: 120,
} as const;
