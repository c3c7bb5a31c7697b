/** `@concord/cluster/sqlite`: durable storage for a node, on SQLite (better-sqlite3, a peer dependency). */
export { SqliteReplicatorStore } from './SqliteReplicatorStore.js';
