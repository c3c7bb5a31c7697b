/** `@concord/cluster/sqlite`: durable storage for a node, on SQLite (better-sqlite3, a peer dependency). */
export { SqliteJournal } from './SqliteJournal.js';
export { SqliteReplicatorStore } from './SqliteReplicatorStore.js';
