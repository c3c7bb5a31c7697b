import { jsonEqual, type ORMap } from '@concord/crdt';
import type { CollectionState, Doc } from './CollectionState.js';
import type { Document, WriteContext, WriteMode } from './Document.js';
import { DbError } from './errors.js';
import { Typed } from './values.js';

/** A document as a transaction changes it: a private copy, and the joined delta of its writes. */
export interface Staged {
  readonly collection: CollectionState;
  readonly id: string;
  readonly doc: Document;
  delta: ORMap | undefined;
}

export interface UpsertOptions {
  /** `merge` (the default, as Ditto's upsert) keeps properties the input lacks; `replace` removes them. */
  readonly mode?: WriteMode;
}

/**
 * Writes grouped into one atomic commit: every document touched becomes one change, all of them
 * durable together, observers and the change feed told once. Writes are staged on private
 * copies, so a write that throws leaves the database as it was.
 */
export class Transaction {
  readonly staged = new Map<string, Staged>();

  constructor(
    private readonly resolve: (collection: string) => CollectionState,
    private readonly ctx: (collection: CollectionState) => WriteContext,
  ) {}

  private stage(collection: string, id: string): Staged {
    if (typeof id !== 'string' || id.length === 0)
      throw new DbError('BAD_ID', 'a document needs a non-empty string _id');
    const state = this.resolve(collection);
    const key = `${collection}\u0000${id}`;
    let s = this.staged.get(key);
    if (!s) {
      s = { collection: state, id, doc: state.writable(id), delta: undefined };
      this.staged.set(key, s);
    }
    return s;
  }

  private record(s: Staged, delta: ORMap | undefined): void {
    if (!delta) return;
    if (s.delta) s.delta.join(delta);
    else s.delta = delta;
  }

  /** Writes `json` by difference: only properties whose value changed record operations. */
  upsert(collection: string, json: Record<string, unknown>, options: UpsertOptions = {}): void {
    if (typeof json !== 'object' || json === null || Array.isArray(json))
      throw new DbError('NOT_JSON', 'a document is a JSON object');
    if ((options.mode ?? 'merge') === 'merge' && this.unchanged(collection, json)) return;
    const s = this.stage(collection, json._id as string);
    this.record(s, s.doc.write(s.id, json, this.ctx(s.collection), options.mode ?? 'merge'));
  }

  /**
   * Whether a merge-mode upsert would record nothing, judged from the document's JSON alone — so
   * a feed that resends a whole catalogue decodes no CRDT for the products it did not change.
   * Only plain values, in a collection whose schema declares no kinds: a wrapper or a declared
   * kind may change a property's type even where its value is the same.
   */
  private unchanged(collection: string, json: Record<string, unknown>): boolean {
    const id = json._id;
    if (typeof id !== 'string' || this.staged.has(`${collection}\u0000${id}`)) return false;
    const state = this.resolve(collection);
    const current = state.value(id);
    if (!current || state.kinds.size > 0) return false;
    for (const k in json) {
      if (!Object.hasOwn(json, k) || k === '_id') continue;
      const v = json[k];
      if (v instanceof Typed || !Object.hasOwn(current, k) || !jsonEqual(current[k], v)) return false;
    }
    return true;
  }

  /**
   * Lets `fn` change a copy of the document (assign, delete, `+=` on counters, edit strings and
   * arrays) and records the differences: a counter's as an increment, a text's as an edit.
   */
  update(collection: string, id: string, fn: (draft: Record<string, unknown>) => unknown): void {
    const s = this.stage(collection, id);
    const current = s.doc.value(id);
    if (!current) throw new DbError('NOT_FOUND', `${collection}/${id} does not exist`);
    const draft = structuredClone(current) as Record<string, unknown>;
    const result = fn(draft);
    const next = (result && typeof result === 'object' ? result : draft) as Record<string, unknown>;
    if (next._id !== undefined && next._id !== id) throw new DbError('BAD_ID', 'update cannot change _id');
    this.record(s, s.doc.write(id, next, this.ctx(s.collection), 'replace'));
  }

  /** Removes a document as this replica has seen it; true if it existed. */
  remove(collection: string, id: string): boolean {
    const s = this.stage(collection, id);
    const delta = s.doc.remove();
    this.record(s, delta);
    return delta !== undefined;
  }

  get(collection: string, id: string): Doc | undefined {
    return this.stage(collection, id).doc.value(id) as Doc | undefined;
  }
}
