import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The sync server's Prometheus metrics (through `prom-client`), on a registry of their own so
 * that several servers in one process — tests, the simulation — never share counters.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly connections = new Gauge({
    name: 'concord_connections',
    help: 'Open sync connections',
    registers: [this.registry],
  });
  readonly changesIn = this.counter('concord_changes_in_total', 'Changes received from clients and applied');
  readonly changesRejected = this.counter(
    'concord_changes_rejected_total',
    'Changes refused by authorisation or a validation hook',
    ['code'],
  );
  readonly changesOut = this.counter(
    'concord_changes_out_total',
    'Changes and document states sent to clients',
  );
  readonly snapshotsBuilt = this.counter(
    'concord_snapshots_built_total',
    'Initial syncs built from the documents (selected, encoded, deflated)',
  );
  readonly snapshotsCached = this.counter(
    'concord_snapshots_cached_total',
    'Initial syncs sent as the frames built for an earlier client (SnapshotCache)',
  );
  readonly snapshotsAbandoned = this.counter(
    'concord_snapshots_abandoned_total',
    'Initial syncs whose build stopped midway: every client it was for had left',
  );
  readonly snapshotsOverHttp = this.counter(
    'concord_snapshots_http_total',
    'Initial syncs sent as a manifest of chunks the client fetches over HTTP (GET /sync/chunks/<sha-256>)',
  );
  readonly chunksServed = this.counter(
    'concord_snapshot_chunks_served_total',
    'Snapshot chunks served over HTTP (a CDN in front serves the rest)',
  );
  readonly bytesIn = this.counter('concord_bytes_in_total', 'Bytes received on sync connections');
  readonly bytesOut = this.counter('concord_bytes_out_total', 'Bytes sent on sync connections');
  readonly errors = this.counter('concord_session_errors_total', 'Sessions ended by an error, by code', [
    'code',
  ]);
  readonly syncLag = new Histogram({
    name: 'concord_sync_lag_seconds',
    help: 'Time from a change being applied on the server to it being sent to every subscribed client (later for a client still catching up)',
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [this.registry],
  });

  private counter(name: string, help: string, labelNames: string[] = []): Counter {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
