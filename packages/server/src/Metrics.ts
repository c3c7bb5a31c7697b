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
  readonly changesIn = new Counter({
    name: 'concord_changes_in_total',
    help: 'Changes received from clients and applied',
    registers: [this.registry],
  });
  readonly changesRejected = new Counter({
    name: 'concord_changes_rejected_total',
    help: 'Changes refused by authorisation or a validation hook',
    labelNames: ['code'],
    registers: [this.registry],
  });
  readonly changesOut = new Counter({
    name: 'concord_changes_out_total',
    help: 'Changes and document states sent to clients',
    registers: [this.registry],
  });
  readonly bytesIn = new Counter({
    name: 'concord_bytes_in_total',
    help: 'Bytes received on sync connections',
    registers: [this.registry],
  });
  readonly bytesOut = new Counter({
    name: 'concord_bytes_out_total',
    help: 'Bytes sent on sync connections',
    registers: [this.registry],
  });
  readonly errors = new Counter({
    name: 'concord_session_errors_total',
    help: 'Sessions ended by an error, by code',
    labelNames: ['code'],
    registers: [this.registry],
  });
  readonly syncLag = new Histogram({
    name: 'concord_sync_lag_seconds',
    help: 'Time from a change being applied on the server to it being sent to a subscribed client',
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [this.registry],
  });

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
