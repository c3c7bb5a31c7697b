import { type Database, SyncError } from '@concord/db';
import { core } from '@concord/db/internal';

const PREFIX = 'bind:';
const utf8 = new TextEncoder();
const text = new TextDecoder();

/** Which principal each replica id belongs to: the first to connect under it. */
export interface Bindings {
  /** Binds `replica` to `subject` (durably, before it resolves), or throws `BAD_REPLICA` if another owns it. */
  bind(replica: string, subject: string): Promise<void>;
}

/**
 * Which principal each replica id belongs to, kept durably in the server database's meta: the
 * first principal to connect under a replica id owns it, and a connection under a replica id
 * another principal owns is refused — otherwise anyone who learnt a replica id could push that
 * replica's next sequence numbers, and the server would take them for its own and drop the real
 * ones as duplicates.
 */
export class ReplicaBindings implements Bindings {
  /** Bindings being written: a second connection in the meantime sees the first one's claim. */
  private readonly claiming = new Map<string, string>();

  constructor(private readonly db: Database) {}

  /** The subject owning `replica`, if any. */
  owner(replica: string): string | undefined {
    const claimed = this.claiming.get(replica);
    if (claimed !== undefined) return claimed;
    const bytes = core(this.db).metaValue(PREFIX + replica);
    return bytes ? text.decode(bytes) : undefined;
  }

  /** Binds `replica` to `subject` (durably, before it resolves), or throws `BAD_REPLICA` if another owns it. */
  async bind(replica: string, subject: string): Promise<void> {
    const owner = this.owner(replica);
    if (owner === subject) return;
    if (owner !== undefined)
      throw new SyncError('BAD_REPLICA', `replica ${replica} belongs to another principal`);
    this.claiming.set(replica, subject);
    try {
      await core(this.db).writeMeta([[PREFIX + replica, utf8.encode(subject)]]);
    } finally {
      this.claiming.delete(replica);
    }
  }
}
