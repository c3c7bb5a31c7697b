import { type Database, DbError, encodeChanges } from '@concord/db';
import { checkDocument, core, schemaIssues } from '@concord/db/internal';
import { type FeedMessage, latestPerProduct } from './FeedConsumer.js';
import { FeedError } from './FeedError.js';
import type { FeedRecord } from './FeedRecord.js';

/** Database errors that are the record's fault: applying it again can never succeed. */
const RECORD_FAULTS = new Set([
  'NOT_JSON',
  'BAD_ID',
  'RESERVED_KEY',
  'TYPE_MISMATCH',
  'INVALID',
  'TOO_LARGE',
  'TOO_DEEP',
]);

/**
 * Seed 000's second consumer: the feed diffed into Concord's catalogue. Each product is upserted
 * whole (`mode: 'replace'`, a field the feed dropped is removed) into `collection` of the
 * server's database, as the head office's writes; an upsert compares with the stored document
 * and records operations only for what differs, so an unchanged product records nothing — a
 * full hourly feed with 1% changed makes exactly the changes for that 1%. A tombstone removes
 * the product, and the stores drop it. A batch is one transaction, durable before the consumer
 * acknowledges it; the sync server then broadcasts its changes to the stores that subscribe.
 *
 * Order: the feed's stream keeps one message per product (`FeedStream`), so a message that a
 * later one replaced is gone from the stream and never redelivered; within a batch the latest
 * message of a product wins.
 */
export interface CatalogueIngestOptions {
  /**
   * The largest change, encoded, the catalogue may record for one product (unlimited when
   * absent). A sync node sets its change log's (`ChangeLog.maxChangeBytes`: one NATS message):
   * a change it cannot publish is never durable, and the node acknowledges nothing after it.
   */
  readonly maxChangeBytes?: number;
}

export class CatalogueIngest {
  private made = 0;

  constructor(
    private readonly db: Database,
    readonly collection = 'products',
    private readonly options: CatalogueIngestOptions = {},
  ) {}

  /** Why `record` can never be taken in (over the limits, or failing the collection's schema). */
  async check(record: FeedRecord): Promise<string | undefined> {
    if (!record.product) return undefined;
    const doc = { _id: record.id, ...record.product };
    let jsonBytes: number;
    try {
      jsonBytes = checkDocument(this.collection, record.id, doc);
    } catch (e) {
      if (e instanceof DbError) return e.message;
      throw e;
    }
    const schema = this.db.collection(this.collection).schema;
    return (schema ? schemaIssues(schema, doc) : undefined) ?? this.oversized(doc, jsonBytes);
  }

  /**
   * Why the change `doc` would make, upserted whole now, is larger than `maxChangeBytes`
   * (measured as the change log publishes it, deflated). A change holds each field's value
   * beside its name, a dot and a timestamp: encoded, under twice the document's JSON (1.0–1.9×
   * before deflate for flat, nested, list-heavy and many-tiny-field documents; tested). So only
   * a product whose JSON may
   * reach a quarter of the limit (`jsonBytes`, `checkDocument`'s bound of it) is drafted —
   * staged, not committed — and measured.
   */
  private oversized(doc: Record<string, unknown>, jsonBytes: number): string | undefined {
    const max = this.options.maxChangeBytes ?? Number.POSITIVE_INFINITY;
    if (jsonBytes * 4 < max) return undefined;
    const changes = core(this.db).draft((tx) => tx.upsert(this.collection, doc, { mode: 'replace' }));
    const size = Math.max(0, ...changes.map((c) => encodeChanges([c]).length));
    return size > max
      ? `its change would be ${size} bytes encoded, over the ${max} one message of the change log carries`
      : undefined;
  }

  /**
   * The changes the feed has made to the catalogue so far (the head office replica's operations;
   * one per changed product): what a republished, unchanged feed must leave as it was.
   */
  get changes(): number {
    return this.made;
  }

  async apply(batch: readonly FeedMessage[]): Promise<void> {
    const latest = latestPerProduct(batch);
    const own = () => this.db.version().get(this.db.replicaId) ?? 0;
    let before = 0;
    try {
      await this.db.transaction((tx) => {
        // Read inside the transaction: no other write of this replica comes between.
        before = own();
        for (const { record } of latest) {
          if (record.product)
            tx.upsert(this.collection, { _id: record.id, ...record.product }, { mode: 'replace' });
          else tx.remove(this.collection, record.id);
        }
      });
      this.made += own() - before;
    } catch (e) {
      if (e instanceof DbError && RECORD_FAULTS.has(e.code)) throw new FeedError('BAD_RECORD', e.message);
      throw e;
    }
  }
}
