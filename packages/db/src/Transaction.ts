import { jsonEqual, type ORMap } from '@concord/crdt';
import type { CollectionState, Doc } from './CollectionState.js';
import type { Document, WriteContext, WriteMode } from './Document.js';
import { DbError } from './errors.js';
import { checkId } from './limits.js';
import { Typed } from './values.js';
import { WrittenDocument } from './WrittenDocument.js';

/**
 * A document as a transaction changes it: a private copy, and the joined delta of its writes —
 * or, for a document new to this replica written whole with registers, what was written, until
 * another write to it needs its CRDT.
 */
export interface Staged {
  readonly collection: CollectionState;
  readonly id: string;
  doc: Document | undefined;
  delta: ORMap | undefined;
  written: WrittenDocument | undefined;
}

/** A collection a transaction writes, and its documents staged so far by id. */
interface StagedCollection {
  readonly name: string;
  readonly state: CollectionState;
  readonly docs: Map<string, Staged>;
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
  /** Every document touched, in the order first touched. */
  readonly staged: Staged[] = [];
  /** The same by collection, then id. */
  private readonly byCollection = new Map<string, StagedCollection>();
  /** The collection written last: a batch writes one collection, and is spared a lookup per document. */
  private last: StagedCollection | undefined;

  constructor(
    private readonly resolve: (collection: string) => CollectionState,
    private readonly ctx: (collection: CollectionState) => WriteContext,
  ) {}

  /** The collection's state and the documents staged in it so far. */
  private collection(name: string): StagedCollection {
    if (this.last?.name === name) return this.last;
    let c = this.byCollection.get(name);
    if (!c) {
      c = { name, state: this.resolve(name), docs: new Map() };
      this.byCollection.set(name, c);
    }
    this.last = c;
    return c;
  }

  private add(docs: Map<string, Staged>, s: Staged): void {
    docs.set(s.id, s);
    this.staged.push(s);
  }

  private stage(collection: string, id: string): Staged & { doc: Document } {
    checkId(id);
    const { state, docs } = this.collection(collection);
    let s = docs.get(id);
    if (!s) {
      s = { collection: state, id, doc: state.writable(id), delta: undefined, written: undefined };
      this.add(docs, s);
    } else if (s.written) {
      // Written whole earlier in this transaction: its CRDT, which has seen nothing else, is the delta.
      s.doc = s.written.document();
      s.delta = s.doc.state;
      s.written = undefined;
    }
    return s as Staged & { doc: Document };
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
    const id = json._id as string;
    checkId(id);
    const { state, docs } = this.collection(collection);
    if (!docs.has(id)) {
      if (!state.knows(id)) {
        // New to this replica: written whole, without a CRDT, when every property is a register.
        const written = WrittenDocument.of(id, json, this.ctx(state), state.shapes);
        if (written) {
          this.add(docs, { collection: state, id, doc: undefined, delta: undefined, written });
          return;
        }
      } else if ((options.mode ?? 'merge') === 'merge' && unchanged(state, json)) return;
    }
    const s = this.stage(collection, id);
    const ctx = this.ctx(s.collection);
    // Onto a document this replica no longer holds (evicted, kept for its dots): what is written is new.
    const blind = !s.collection.has(id) && s.collection.evicted.has(id);
    this.record(s, s.doc.write(s.id, json, blind ? { ...ctx, blind } : ctx, options.mode ?? 'merge'));
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

/**
 * Whether a merge-mode upsert would record nothing, judged from the document's JSON alone — so
 * a feed that resends a whole catalogue decodes no CRDT for the products it did not change.
 * Only plain values, in a collection whose schema declares no kinds: a wrapper or a declared
 * kind may change a property's type even where its value is the same.
 */
function unchanged(state: CollectionState, json: Record<string, unknown>): boolean {
  const current = state.value(json._id as string);
  if (!current || state.kinds.size > 0) return false;
  for (const k in json) {
    if (!Object.hasOwn(json, k) || k === '_id') continue;
    const v = json[k];
    if (v instanceof Typed || !Object.hasOwn(current, k) || !jsonEqual(current[k], v)) return false;
  }
  return true;
}
