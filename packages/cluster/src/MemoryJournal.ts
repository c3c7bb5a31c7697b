import type { EventJournal, Snapshot } from './EventJournal.js';
import type { JournalEvent } from './ReplicatedEvent.js';

/** A journal in memory: for tests and for replicas that recover from their peers alone. */
export class MemoryJournal implements EventJournal {
  private readonly events = new Map<string, JournalEvent[]>();
  private readonly seen = new Set<string>();
  private readonly snapshots = new Map<string, Snapshot>();

  async append(events: readonly JournalEvent[]): Promise<void> {
    for (const e of events) {
      const id = `${e.persistenceId}\u0000${e.origin}\u0000${e.seq}`;
      if (this.seen.has(id)) continue;
      this.seen.add(id);
      const list = this.events.get(e.persistenceId) ?? [];
      this.events.set(e.persistenceId, list);
      list.push(e);
    }
  }

  async read(persistenceId: string, position = 0): Promise<JournalEvent[]> {
    return (this.events.get(persistenceId) ?? []).slice(position);
  }

  async saveSnapshot(persistenceId: string, snapshot: Snapshot): Promise<void> {
    this.snapshots.set(persistenceId, structuredClone(snapshot));
  }

  async loadSnapshot(persistenceId: string): Promise<Snapshot | undefined> {
    const s = this.snapshots.get(persistenceId);
    return s && structuredClone(s);
  }

  async close(): Promise<void> {}
}
