/** `@concord/db/postgres`: PostgreSQL storage for servers (pg, an optional peer dependency). */
export { type PostgresOptions, PostgresStorage } from './storage/PostgresStorage.js';
