import type { Database } from '@concord/db';
import {
  CatalogueIngest,
  type ColumnType,
  FeedConsumer,
  type FeedRecord,
  FeedStream,
  type PublishProgress,
  publishFeed,
  SqlProjection,
} from '@concord/feed';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import pg from 'pg';
import { Gauge } from 'prom-client';
import type { Metrics } from './Metrics.js';

export interface FeedIngestOptions {
  /** The sync server's database: the catalogue goes there, and on to the stores. */
  readonly db: Database;
  readonly nats: string;
  /** The feed's stream (default `catalogue`). */
  readonly stream?: string;
  /** The collection the products go to (default `products`). */
  readonly collection?: string;
  /** PostgreSQL for the SQL projection; none: no projection. */
  readonly postgres?: string;
  /** The projection's schema (default `public`) and its columns (`name:text,price:numeric`). */
  readonly schema?: string;
  readonly columns?: Readonly<Record<string, ColumnType>>;
  /** How long a message taken by a consumer that died waits before it is delivered again (default 30 s). */
  readonly ackWaitMs?: number;
  readonly metrics: Metrics;
  /** Resolves once what the database committed is durable beyond it (`SyncServer.durable`): a batch is acknowledged after. */
  readonly durable?: () => Promise<void>;
  /** The largest change the server can make durable (a node's `ChangeLog.maxChangeBytes`): a product over it is dead-lettered. */
  readonly maxChangeBytes?: number;
}

/**
 * The feed's consumers inside `concord serve --nats … --ingest <collection>`: the diff into the
 * server's catalogue (which the server broadcasts to the stores) and, given PostgreSQL, the SQL
 * projection — each durable, so a restarted server goes on where it stopped. Their lag,
 * throughput, redeliveries and dead letters are on `/metrics`; `/healthz` says whether NATS is
 * connected.
 */
export class FeedIngest {
  /** Whether the link to NATS is up: false from a `disconnect` until the `reconnect`. */
  private connected = true;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly stream: FeedStream,
    private readonly consumers: ReadonlyMap<string, FeedConsumer>,
    private readonly pool: pg.Pool | undefined,
    private readonly catalogue: CatalogueIngest,
  ) {
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === 'disconnect') this.connected = false;
        else if (s.type === 'reconnect') this.connected = true;
      }
    })();
  }

  static async start(o: FeedIngestOptions): Promise<FeedIngest> {
    const nc = await connect({ servers: o.nats, maxReconnectAttempts: -1, noAsyncTraces: true });
    const stream = new FeedStream(o.stream);
    const consumers = new Map<string, FeedConsumer>();
    const ingest = new CatalogueIngest(
      o.db,
      o.collection,
      o.maxChangeBytes === undefined ? {} : { maxChangeBytes: o.maxChangeBytes },
    );
    consumers.set(
      'concord',
      await FeedConsumer.start(
        nc,
        stream,
        `concord-${ingest.collection}`,
        async (b) => {
          await ingest.apply(b);
          await o.durable?.();
        },
        {
          check: (r) => ingest.check(r),
          ...(o.ackWaitMs ? { ackWaitMs: o.ackWaitMs } : {}),
        },
      ),
    );
    let pool: pg.Pool | undefined;
    if (o.postgres) {
      pool = new pg.Pool({ connectionString: o.postgres });
      const projection = new SqlProjection(pool, {
        ...(o.schema ? { schema: o.schema } : {}),
        ...(o.columns ? { columns: o.columns } : {}),
      });
      await projection.ensure();
      consumers.set(
        'sql',
        await FeedConsumer.start(nc, stream, 'sql-projection', (b) => projection.apply(b), {
          check: (r) => projection.check(r),
          ...(o.ackWaitMs ? { ackWaitMs: o.ackWaitMs } : {}),
        }),
      );
    }
    const ingestion = new FeedIngest(nc, stream, consumers, pool, ingest);
    ingestion.register(o.metrics);
    return ingestion;
  }

  /** The collection the feed goes to. */
  get collection(): string {
    return this.catalogue.collection;
  }

  /**
   * Publishes feed records to the stream this server ingests — the head office uploading its
   * feed (`POST /api/feed`) instead of running `concord feed publish` — as `publishFeed` does:
   * only what changed is stored, and it resolves once JetStream holds every message.
   */
  publish(
    records: AsyncIterable<FeedRecord>,
    onProgress?: (p: PublishProgress) => void,
  ): Promise<PublishProgress> {
    return publishFeed(this.nc, this.stream, records, onProgress);
  }

  /** Whether NATS is connected, and each consumer's lag. */
  async health(): Promise<{ ok: boolean; feed: Record<string, unknown> }> {
    const connected = this.connected && !this.nc.isClosed();
    const feed: Record<string, unknown> = { nats: connected ? 'connected' : 'disconnected' };
    for (const [name, c] of this.consumers)
      feed[name] = { ...c.progress, lag: await c.lag().catch(() => null) };
    (feed.concord as Record<string, unknown>).changes = this.catalogue.changes;
    return { ok: connected, feed };
  }

  async stop(): Promise<void> {
    for (const c of this.consumers.values()) await c.stop();
    await this.nc.drain().catch(() => undefined);
    await this.pool?.end();
  }

  /** The consumers' gauges on the server's registry, read when Prometheus scrapes. */
  private register(metrics: Metrics): void {
    const consumers = this.consumers;
    const catalogue = this.catalogue;
    new Gauge({
      name: 'concord_feed_changes',
      help: 'Catalogue changes the feed made (an unchanged product makes none)',
      registers: [metrics.registry],
      collect() {
        this.set(catalogue.changes);
      },
    });
    const gauge = (name: string, help: string, read: (c: FeedConsumer) => Promise<number> | number) =>
      new Gauge({
        name,
        help,
        labelNames: ['consumer'],
        registers: [metrics.registry],
        async collect() {
          for (const [consumer, c] of consumers) this.set({ consumer }, await read(c));
        },
      });
    gauge('concord_feed_lag', 'Feed messages a consumer has not acknowledged yet', (c) =>
      c.lag().catch(() => -1),
    );
    gauge(
      'concord_feed_applied',
      'Feed messages a consumer applied (rate: products/s)',
      (c) => c.progress.applied,
    );
    gauge(
      'concord_feed_redelivered',
      'Feed messages delivered more than once',
      (c) => c.progress.redelivered,
    );
    gauge(
      'concord_feed_dead_letters',
      'Feed messages sent to the dead letters',
      (c) => c.progress.deadLetters,
    );
  }
}
