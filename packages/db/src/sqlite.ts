/** `@concord/db/sqlite`: SQLite storage for Node (better-sqlite3, an optional peer dependency). */
export { SqliteStorage } from './storage/SqliteStorage.js';
