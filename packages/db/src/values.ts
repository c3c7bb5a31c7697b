import type { Json } from '@concord/crdt';

/** The CRDT a property is: chosen by the collection's schema, by a wrapper at write time, or `register`. */
export type PropertyKind = 'register' | 'counter' | 'map' | 'list' | 'text' | 'flag' | 'set' | 'attachment';

/**
 * A value that says which CRDT its property is, for writes: `counter(5)`, `text('…')`. Plain
 * values become causal LWW registers unless the schema or the existing property says otherwise.
 */
export class Typed<K extends PropertyKind = PropertyKind> {
  constructor(
    readonly kind: K,
    readonly value: unknown,
  ) {}
}

/** A PN-counter; writing a number later records the difference as an increment. */
export const counter = (n = 0): Typed<'counter'> => new Typed('counter', n);
/** Collaborative text; writing a string later records the edit (common prefix and suffix kept). */
export const text = (s = ''): Typed<'text'> => new Typed('text', s);
/** A replicated list; elements are JSON, or nested maps given as `map({...})`. */
export const list = (items: readonly unknown[] = []): Typed<'list'> => new Typed('list', items);
/** A nested add-wins map whose properties are CRDTs in turn (registers by default). */
export const map = (value: Record<string, unknown> = {}): Typed<'map'> => new Typed('map', value);
/** An enable-wins flag. */
export const flag = (on = false): Typed<'flag'> => new Typed('flag', on);
/** An add-wins set of JSON values. */
export const set = (items: readonly Json[] = []): Typed<'set'> => new Typed('set', items);

/** How an attachment appears in a document: its bytes are stored once, by SHA-256, and fetched lazily. */
export interface AttachmentRef {
  readonly $attachment: string;
  readonly size: number;
  readonly type: string;
}

export function isAttachmentRef(v: unknown): v is AttachmentRef {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as AttachmentRef).$attachment === 'string' &&
    /^[0-9a-f]{64}$/.test((v as AttachmentRef).$attachment) &&
    typeof (v as AttachmentRef).size === 'number' &&
    typeof (v as AttachmentRef).type === 'string'
  );
}
