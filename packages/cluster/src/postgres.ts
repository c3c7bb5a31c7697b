/** `@concord/cluster/postgres`: a replicated entity's journal in PostgreSQL (`pg`, a peer dependency). */
export { PostgresJournal, type PostgresJournalOptions } from './PostgresJournal.js';
