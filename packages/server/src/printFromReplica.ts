import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Database, type Doc, type Where } from '@concord/db';
import { SqliteStorage } from '@concord/db/sqlite';
import { type RenderedLabels, renderLabels, TEMPLATES } from '@concord/labels';
import { defaultFonts } from '@concord/labels/node';
import { labelImages } from './labelImages.js';

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
}

export interface PrintedFromReplica extends RenderedLabels {
  /** Whether the replica caught up with the server before printing. */
  readonly synced: boolean;
  readonly missing: readonly string[];
}

/**
 * A store's print service (`concord labels`): renders labels from the store's own replica —
 * caught up with the sync server first when it answers within `syncTimeoutMs`, and from the
 * SQLite file as it is when it does not (seed 000: stores print "regardless of if our server was
 * busy (or offline which happened often)").
 */
export async function printFromReplica(o: PrintFromReplicaOptions): Promise<PrintedFromReplica> {
  const template = Object.hasOwn(TEMPLATES, o.template) ? TEMPLATES[o.template] : undefined;
  if (!template) throw new Error(`no template ${o.template}; built in: ${Object.keys(TEMPLATES).join(', ')}`);
  mkdirSync(dirname(o.data), { recursive: true });
  const db = await Database.open({ storage: await SqliteStorage.open(o.data) });
  try {
    let synced = false;
    if (o.url) {
      const sync = db.sync(o.url, {
        ...(o.token ? { token: o.token } : {}),
        subscriptions: [{ collection: o.collection, ...(o.where ? { where: o.where } : {}) }],
      });
      let timer: NodeJS.Timeout | undefined;
      synced = await Promise.race([
        sync.synced().then(() => true),
        new Promise<false>((resolve) => {
          timer = setTimeout(() => resolve(false), o.syncTimeoutMs);
        }),
      ]).catch(() => false);
      clearTimeout(timer);
      await sync.close();
    }
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
    const images = await labelImages(db, docs);
    const rendered = await renderLabels(docs, template, {
      fonts: defaultFonts(),
      ...(o.locale ? { locale: o.locale } : {}),
      ...(o.currency ? { currency: o.currency } : {}),
      images: (key) => images.get(key),
    });
    mkdirSync(dirname(o.out), { recursive: true });
    writeFileSync(o.out, rendered.pdf);
    return { ...rendered, synced, missing };
  } finally {
    await db.close();
  }
}
