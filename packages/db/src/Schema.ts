import type { StandardSchemaV1 } from '@standard-schema/spec';
import { DbError } from './errors.js';

export type { StandardSchemaV1 };

/**
 * What a schema says of `value` (a document's JSON): undefined if it passes, else its issues
 * in one line (`path: message; …`). Any Standard Schema works — Zod, Valibot, ArkType — as the
 * interface is the one they all implement (https://standardschema.dev).
 */
export async function schemaIssues(schema: StandardSchemaV1, value: unknown): Promise<string | undefined> {
  let result = schema['~standard'].validate(value);
  if (result instanceof Promise) result = await result;
  if (!result.issues) return undefined;
  return result.issues
    .map((issue) => {
      const path = (issue.path ?? [])
        .map((p) => (typeof p === 'object' && p !== null && 'key' in p ? p.key : p))
        .map(String)
        .join('.');
      return path ? `${path}: ${issue.message}` : issue.message;
    })
    .join('; ');
}

/** Throws `INVALID` with the schema's messages if `value`, document `id` of `collection`, fails `schema`. */
export async function checkSchema(
  schema: StandardSchemaV1,
  collection: string,
  id: string,
  value: unknown,
): Promise<void> {
  const issues = await schemaIssues(schema, value);
  if (issues !== undefined) throw new DbError('INVALID', `${collection}/${id}: ${issues}`);
}
