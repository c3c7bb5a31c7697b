import type { VersionVector } from '@concord/crdt';
import type {
  Database,
  Subscription,
  SyncClient,
  SyncErrorEvent,
  SyncProgress,
  SyncStatus,
} from '@concord/db';
import { Store } from './Store.js';

/** What the page shows of its link to the sync server. */
export interface ConnectionState {
  /** The user's choice: offline on purpose, or trying to be connected. */
  readonly online: boolean;
  readonly status: SyncStatus;
  /** The initial sync's progress, while a snapshot streams. */
  readonly progress: SyncProgress | undefined;
  readonly error: SyncErrorEvent | undefined;
  /** What this replica follows. */
  readonly subscriptions: readonly Subscription[];
  /** The sync client running now (none while offline): what `ConcordProvider` hands the hooks. */
  readonly sync: SyncClient | undefined;
}

/**
 * The page's sync client, which the user can take offline and back (the choice survives a
 * reload) and point at more collections (those followed survive a reload too). Subscriptions are fixed per sync client, so following
 * another collection starts a new one; each subscription's cursor is kept in the database, so
 * the collections already followed resume where they were.
 */
export class Connection extends Store<ConnectionState> {
  private sync: SyncClient | undefined;
  /** Stopping and starting run one after the other. */
  private queue: Promise<void> = Promise.resolve();

  constructor(
    readonly db: Database,
    private readonly url: string,
    /** localStorage key prefix for this replica's settings. */
    private readonly key: string,
    /** What a replica new to this page follows. */
    initial: readonly Subscription[],
  ) {
    const saved = localStorage.getItem(`${key}:subscriptions`);
    const online = localStorage.getItem(`${key}:offline`) !== '1';
    super({
      online,
      status: online ? 'connecting' : 'offline',
      progress: undefined,
      error: undefined,
      subscriptions: saved ? (JSON.parse(saved) as Subscription[]) : initial,
      sync: undefined,
    });
    if (online) this.start();
  }

  /** The server version the subscriptions are caught up to on the current connection. */
  serverVersion(): VersionVector | undefined {
    return this.sync?.serverVersion;
  }

  setOnline(online: boolean): Promise<void> {
    if (online === this.state().online) return this.queue;
    localStorage.setItem(`${this.key}:offline`, online ? '0' : '1');
    this.update({ online });
    return this.enqueue(async () => {
      await this.stop();
      if (online) this.start();
    });
  }

  /** Subscribes to these whole collections too (a view opening collections this replica lacks). */
  follow(...collections: string[]): Promise<void> {
    const now = this.state().subscriptions;
    const more = collections.filter((c) => !now.some((s) => s.collection === c && !s.where));
    if (more.length === 0) return this.queue;
    const subscriptions = [...now, ...more.map((collection) => ({ collection }))];
    localStorage.setItem(`${this.key}:subscriptions`, JSON.stringify(subscriptions));
    this.update({ subscriptions });
    return this.enqueue(async () => {
      if (!this.state().online) return;
      await this.stop();
      this.start();
    });
  }

  private enqueue(step: () => Promise<void>): Promise<void> {
    this.queue = this.queue.then(step);
    return this.queue;
  }

  private start(): void {
    const sync = this.db.sync(this.url, {
      subscriptions: this.state().subscriptions,
    });
    this.sync = sync;
    this.update({ status: sync.status, error: undefined, progress: undefined, sync });
    sync.on('status', (status) => {
      if (this.sync === sync) this.update({ status, ...(status === 'live' ? { progress: undefined } : {}) });
    });
    sync.on('progress', (progress) => {
      if (this.sync === sync) this.update({ progress });
    });
    sync.on('error', (error) => {
      if (this.sync === sync) this.update({ error });
    });
  }

  private async stop(): Promise<void> {
    const sync = this.sync;
    this.sync = undefined;
    await sync?.close();
    this.update({ status: 'offline', progress: undefined, sync: undefined });
  }

  private update(change: Partial<ConnectionState>): void {
    this.set({ ...this.state(), ...change });
  }
}
