import type { CollectionState, Doc } from './CollectionState.js';
import type { Database } from './Database.js';
import type { Conflict, FieldKind } from './Document.js';
import { LiveQuery, type Observer } from './LiveQuery.js';
import { checkQuery, type Query } from './query/Query.js';
import type { UpsertOptions } from './Transaction.js';

/** A named set of documents: the API users hold. Every write is its own transaction. */
export class Collection {
  private readonly live = new Set<LiveQuery>();

  constructor(
    private readonly db: Database,
    private readonly state: CollectionState,
  ) {}

  get name(): string {
    return this.state.name;
  }

  /** Writes `doc` by difference with the stored one; resolves once durable. */
  upsert(doc: Record<string, unknown>, options?: UpsertOptions): Promise<void> {
    return this.db.transaction((tx) => tx.upsert(this.name, doc, options));
  }

  /** Many upserts as one transaction (a feed's batch): one commit, one event. */
  upsertMany(docs: readonly Record<string, unknown>[], options?: UpsertOptions): Promise<void> {
    return this.db.transaction((tx) => {
      for (const d of docs) tx.upsert(this.name, d, options);
    });
  }

  update(id: string, fn: (draft: Record<string, unknown>) => unknown): Promise<void> {
    return this.db.transaction((tx) => tx.update(this.name, id, fn));
  }

  /** Removes the document; resolves true if it existed. */
  remove(id: string): Promise<boolean> {
    return this.db.transaction((tx) => tx.remove(this.name, id));
  }

  /** The document as plain JSON (frozen), or undefined. */
  async get(id: string): Promise<Doc | undefined> {
    return this.state.value(id);
  }

  async find(query: Query = {}): Promise<Doc[]> {
    checkQuery(query);
    return this.state.find(query);
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
  observe(query: Query, observer: Observer): () => void {
    const lq = new LiveQuery(this.state, query, observer);
    this.live.add(lq);
    return () => this.live.delete(lq);
  }

  /** @internal Called by the database after each commit that touched this collection. */
  notify(changed: Parameters<LiveQuery['notify']>[0]): void {
    for (const lq of this.live) lq.notify(changed);
  }
}
