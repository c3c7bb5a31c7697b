import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Database, type Doc, type Where } from '@concord/db';
import { SqliteStorage } from '@concord/db/sqlite';
import {
  builtInTemplate,
  PRINTED,
  printedFingerprints,
  printedLabels,
  printQueue,
  type RenderedLabels,
  renderLabels,
} from '@concord/labels';
import { defaultFonts } from '@concord/labels/node';
import { labelImages } from './labelImages.js';

/** Whether `p` settles within `ms` (false if it rejects or takes longer). */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([p.then(() => true as const), late]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

export interface PrintFromReplicaOptions {
  /** The store's replica: a SQLite file, kept between runs. */
  readonly data: string;
  /** A sync server to catch up with first (`ws://…/sync`); without one, the replica as it is. */
  readonly url?: string;
  readonly token?: string;
  readonly collection: string;
  /** The documents the replica follows (its subscription), and that are printed when `ids` is absent. */
  readonly where?: Where;
  readonly ids?: readonly string[];
  /** A built-in template's name. */
  readonly template: string;
  readonly out: string;
  readonly locale?: string;
  readonly currency?: string;
  /** How long to try reaching the server before printing from the replica as it is. */
  readonly syncTimeoutMs: number;
  /**
   * Print only this store's print queue — the products whose label changed since the store last
   * printed it — and record what was printed in the `printed` collection (one document per store
   * and product, synced back: the head office sees each store's label compliance).
   */
  readonly queue?: string;
}

export interface PrintedFromReplica extends RenderedLabels {
  /** Whether the replica caught up with the server before printing. */
  readonly synced: boolean;
  /** Whether what was printed reached the server (with `queue`). */
  readonly recorded: boolean;
  readonly missing: readonly string[];
}

/**
 * A store's print service (`concord labels`): renders labels from the store's own replica —
 * caught up with the sync server first when it answers within `syncTimeoutMs`, and from the
 * SQLite file as it is when it does not (seed 000: stores print "regardless of if our server was
 * busy (or offline which happened often)").
 */
export async function printFromReplica(o: PrintFromReplicaOptions): Promise<PrintedFromReplica> {
  const template = builtInTemplate(o.template);
  mkdirSync(dirname(o.data), { recursive: true });
  const db = await Database.open({ storage: await SqliteStorage.open(o.data) });
  try {
    const sync = o.url
      ? db.sync(o.url, {
          ...(o.token ? { token: o.token } : {}),
          subscriptions: [
            { collection: o.collection, ...(o.where ? { where: o.where } : {}) },
            ...(o.queue ? [{ collection: PRINTED, where: { store: o.queue } }] : []),
          ],
        })
      : undefined;
    const synced = sync ? await within(sync.synced(), o.syncTimeoutMs) : false;
    const docs: Doc[] = [];
    const missing: string[] = [];
    const products = db.collection(o.collection);
    if (o.ids) {
      for (const id of o.ids) {
        const doc = await products.get(id);
        if (doc) docs.push(doc);
        else missing.push(id);
      }
    } else
      docs.push(...(await products.find({ ...(o.where ? { where: o.where } : {}), sort: { _id: 'asc' } })));
    if (o.queue) {
      const printed = printedFingerprints(await db.collection(PRINTED).find({ where: { store: o.queue } }));
      const waiting = printQueue(docs, printed);
      docs.length = 0;
      docs.push(...waiting);
    }
    const images = await labelImages(db, docs);
    const rendered = await renderLabels(docs, template, {
      fonts: defaultFonts(),
      ...(o.locale ? { locale: o.locale } : {}),
      ...(o.currency ? { currency: o.currency } : {}),
      images,
    });
    mkdirSync(dirname(o.out), { recursive: true });
    writeFileSync(o.out, rendered.pdf);
    let recorded = false;
    if (o.queue && docs.length > 0) {
      await db.collection(PRINTED).upsertMany(printedLabels(o.queue, docs, new Date().toISOString()));
      // Sent now if the server is there; kept in the replica and sent next time if not.
      if (sync && synced) recorded = await within(sync.synced(), o.syncTimeoutMs);
    }
    await sync?.close();
    return { ...rendered, synced, recorded, missing };
  } finally {
    await db.close();
  }
}
