/**
 * The first statement of a multi-statement script that creates Concord's PostgreSQL schemas and
 * tables: PostgreSQL runs such a script as one transaction, so this lock (held to its end)
 * serialises nodes starting together — concurrent `CREATE … IF NOT EXISTS` race on PostgreSQL's
 * catalogue ("duplicate key value violates unique constraint pg_type_typname_nsp_index"), as
 * three nodes started at once in the bench found.
 */
export const SCHEMA_LOCK = "SELECT pg_advisory_xact_lock(hashtext('concord schema'));";
