import type { CollectionState, Doc } from './CollectionState.js';
import type { Database } from './Database.js';
import type { Conflict, FieldKind } from './Document.js';
import { LiveQuery, type Observer } from './LiveQuery.js';
import { checkQuery, type Query } from './query/Query.js';
import type { StandardSchemaV1 } from './Schema.js';
import type { UpsertOptions } from './Transaction.js';
import type { PropertyKind, Typed } from './values.js';

/**
 * What a write takes for a document of type `T`: its id, and any of its properties — each its
 * value, or a value that says which CRDT it is (`counter(5)`, `text('…')`). Properties left out
 * are kept (merge, the default) or removed (`mode: 'replace'`). An untyped collection takes any
 * object (its id is checked when written).
 */
export type DocInput<T extends object> = string extends keyof T
  ? Record<string, unknown>
  : { readonly _id: string } & { readonly [K in keyof T]?: T[K] | Typed<PropertyKind> };

/** The copy of a document `Collection.update` hands its function. */
export type Draft<T extends object> = string extends keyof T ? Record<string, unknown> : T & { _id: string };

/**
 * A named set of documents: the API users hold, typed by what its documents are (`T`, from the
 * collection's schema or given as `db.collection<T>(name)`). Every write is its own transaction.
 */
export class Collection<T extends object = Record<string, unknown>> {
  private readonly live = new Set<LiveQuery>();

  constructor(
    private readonly db: Database,
    private readonly state: CollectionState,
  ) {}

  get name(): string {
    return this.state.name;
  }

  /** The runtime schema writes are checked against, if the collection has one. */
  get schema(): StandardSchemaV1 | undefined {
    return this.state.schema;
  }

  /** Writes `doc` by difference with the stored one; resolves once durable. */
  upsert(doc: DocInput<T>, options?: UpsertOptions): Promise<void> {
    return this.db.transaction((tx) => tx.upsert(this.name, doc as Record<string, unknown>, options));
  }

  /** Many upserts as one transaction (a feed's batch): one commit, one event. */
  upsertMany(docs: readonly DocInput<T>[], options?: UpsertOptions): Promise<void> {
    return this.db.transaction((tx) => {
      for (const d of docs) tx.upsert(this.name, d as Record<string, unknown>, options);
    });
  }

  /**
   * Lets `fn` change a copy of the document (assign, delete, `+=` on counters, edit strings and
   * arrays); the differences are written. `NOT_FOUND` if there is no such document.
   */
  update(id: string, fn: (draft: Draft<T>) => unknown): Promise<void> {
    return this.db.transaction((tx) =>
      tx.update(this.name, id, fn as (draft: Record<string, unknown>) => unknown),
    );
  }

  /** Removes the document; resolves true if it existed. */
  remove(id: string): Promise<boolean> {
    return this.db.transaction((tx) => tx.remove(this.name, id));
  }

  /** The document as plain JSON (frozen), or undefined. */
  async get(id: string): Promise<Doc<T> | undefined> {
    return this.state.value(id) as Doc<T> | undefined;
  }

  async find(query: Query = {}): Promise<Doc<T>[]> {
    checkQuery(query);
    return this.state.find(query) as Doc<T>[];
  }

  /** Which index `query` would use and how many documents it would examine. */
  explain(query: Query): { index: string | undefined; examined: number } {
    checkQuery(query);
    return this.state.explain(query);
  }

  async count(query: Query = {}): Promise<number> {
    return (await this.find({ where: query.where ?? {} })).length;
  }

  /** Registers whose concurrent writes lost, with the losing values. */
  async conflicts(id: string): Promise<Conflict[]> {
    return this.state.current(id)?.conflicts() ?? [];
  }

  /** Which CRDT each of the document's properties is (a register, a counter, …), by dotted path. */
  async kinds(id: string): Promise<FieldKind[]> {
    return this.state.current(id)?.kinds() ?? [];
  }

  /** A live query: `observer` gets the result now and after every change that alters it. */
  observe(query: Query, observer: Observer<T>): () => void {
    const lq = new LiveQuery(this.state, query, observer as Observer);
    this.live.add(lq);
    return () => this.live.delete(lq);
  }

  /** @internal Called by the database after each commit that touched this collection. */
  notify(changed: Parameters<LiveQuery['notify']>[0]): void {
    for (const lq of this.live) lq.notify(changed);
  }
}
