/** A PostgreSQL identifier quoted for SQL text (a schema or table name any string may be). */
export const pgIdent = (name: string): string => `"${name.replaceAll('"', '""')}"`;
