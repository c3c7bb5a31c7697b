import type { VersionVector } from '@concord/crdt';
import type { Database } from '@concord/db';
import type { Log } from './SyncServer.js';

/**
 * Keeps a server database's change log to its last few spans: told where each span ends (a
 * lone server's every `compactEvery` changes, `SyncServer`; a node's every `compactEvery`
 * messages of the deployment's log, `ChangeLog`), it compacts the log up to where the span
 * `kept` spans back ended. Without it a lone server's log (its SQLite file) and a node's (its
 * database is in memory) grew with every change ever made. A client whose cursor the log no
 * longer reaches starts its subscriptions over with a snapshot (`Session.catchUp`); one that
 * missed less — a store offline a few days, at a thousand price changes an hour — still catches
 * up by delta.
 *
 * Spans are counted from the server's start: a restart only puts the next compaction off.
 */
export class LogCompaction {
  /** Where the last `kept` spans ended, oldest first. */
  private readonly ends: VersionVector[] = [];
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Database,
    private readonly kept: number,
    private readonly log?: Log,
  ) {}

  /** A span ended at `version`: the log is compacted up to where the span `kept` back ended. */
  spanEnded(version: VersionVector): void {
    this.ends.push(version.clone());
    if (this.ends.length <= this.kept) return;
    const horizon = this.ends.shift()!;
    this.running = this.running.then(() => this.compact(horizon));
  }

  private async compact(horizon: VersionVector): Promise<void> {
    try {
      await this.db.compact(horizon);
      this.log?.info({ horizon: horizon.toJSON() }, 'compacted the change log');
    } catch (e) {
      // A closed database (the server stopping) or a storage fault: the log stays as it was,
      // and the next span tries again.
      this.log?.warn({ err: e }, 'could not compact the change log');
    }
  }

  /** Resolves once a compaction under way is done. */
  settled(): Promise<void> {
    return this.running;
  }
}
