import type { ChangeEvent, Database, Doc, Timers } from '@concord/db';
import { labelChanged, PRINTED } from '@concord/labels';
import { type Indexed, Products } from './Products.js';
import { Store } from './Store.js';

/** The collections the retail views read. */
export const PRODUCTS = 'products';
export const STORES = 'stores';

/** How often, at most, views are told of changes (see `publishSoon`). */
const PUBLISH_MS = 50;
/**
 * How often, at most, while an initial sync streams (see `streaming`). Each time, the views draw
 * the list and the queue again (a scan of every id for the queue's first ones, a React render,
 * a layout): done after every chunk, it cost a 100,000-product first sync in Chromium 6% of its
 * time (2,182 vs 2,053 ms, medians of 6 rounds A/B).
 */
const STREAMING_PUBLISH_MS = 500;

/** The timers and clock the index publishes by (injected in tests). */
export interface IndexTimers extends Timers {
  now(): number;
}

/** Search texts made per slice between a first sync's end and the first search (see `fillTexts`). */
const TEXT_SLICE_MS = 8;

const REAL_TIMERS: IndexTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  now: () => performance.now(),
};

/** What a view reads of the index; `version` changes whenever anything in it does. */
export interface ProductIndexState {
  readonly version: number;
  /** False until the products are read from the database. */
  readonly ready: boolean;
  readonly products: number;
}

export interface SearchResult {
  readonly products: readonly Doc[];
  /** How many products match in all (`products` holds the first `limit`). */
  readonly total: number;
}

/** One store's labels as the head office sees them. */
export interface StoreCompliance {
  readonly store: string;
  /** Products the store carries. */
  readonly carried: number;
  /** Of those, the labels it has not printed since they changed. */
  readonly queued: number;
  /** When it last printed (ISO 8601), if ever. */
  readonly lastPrinted: string | undefined;
}

/** Lower case without accents, so "creme" finds "Crème fraîche". */
function fold(s: string): string {
  const lower = s.toLowerCase();
  // Most product text is ASCII: skip the decomposition for it.
  return /[\u0080-\uffff]/.test(lower) ? lower.normalize('NFD').replace(/\p{M}/gu, '') : lower;
}

/** The text a search looks in: name, brand, SKU, barcode and id (a missing field leaves a space). */
function haystack(p: Doc): string {
  // One template, not an array filtered and joined: it is made for 100,000 products while the
  // page waits (a fifth quicker than a loop over the fields, in Node, by hand).
  return fold(`${p.name ?? ''} ${p.brand ?? ''} ${p.sku ?? ''} ${p.barcode ?? ''} ${p._id}`);
}

/**
 * The replica's products held in memory for the retail views: search as you type over 100,000 of
 * them (a scan of folded strings, no index to build or keep), and each store's print queue — the
 * products whose label fields changed since the store last printed them.
 *
 * A store's replica holds only its own products, so all of them are in its queue's reach; the
 * head office holds every product and reads which stores carry one from its `stores` array.
 *
 * It reads the replica once, then follows the database's change events (each gives every changed
 * document's state after), so a change costs its own documents, never a re-read of the
 * catalogue: a store's queue stays current while the head office reprices.
 */
export class ProductIndex extends Store<ProductIndexState> {
  /** Each product with the text a search looks in. */
  private readonly products = new Products();
  /** Products whose search text is not made yet, oldest first (see `fillTexts`). */
  private untexted: Indexed[] = [];
  /** How many of `untexted` are made. */
  private textsMade = 0;
  private filling: unknown;
  /** By store: fingerprints of the labels it printed, by product id. */
  private readonly printed = new Map<string, Map<string, string>>();
  private readonly lastPrinted = new Map<string, string>();
  /** By store, at the head office: the products it carries (a store's replica holds its own alone). */
  private readonly carried = new Map<string, Set<string>>();
  /**
   * By store: the products it carries whose label it printed as they are now. The print queue is
   * the rest, so a first sync — every label due — adds to no set: 100,000 insertions fewer while
   * the page waits for it.
   */
  private readonly upToDate = new Map<string, Set<string>>();
  private readonly stop: () => void;
  private pending: unknown;
  private isStreaming = false;
  private publishedAt = Number.NEGATIVE_INFINITY;

  /** `store`: the replica is that store's (its products only); none at the head office. */
  constructor(
    private readonly db: Database,
    private readonly store?: string,
    private readonly timers: IndexTimers = REAL_TIMERS,
  ) {
    super({ version: 0, ready: false, products: 0 });
    // Events that arrive before the first read are applied after it, in order.
    const early: ChangeEvent[] = [];
    let loaded = false;
    this.stop = db.onChange((e) => {
      if (loaded) this.apply(e);
      else early.push(e);
    });
    void this.load().then(() => {
      loaded = true;
      for (const e of early) this.apply(e);
      this.publish(true);
    });
  }

  close(): void {
    this.stop();
    this.timers.clearTimeout(this.pending);
    this.timers.clearTimeout(this.filling);
  }

  /**
   * Whether an initial sync is streaming in (its progress short of its total): views are then
   * told of changes at most every `STREAMING_PUBLISH_MS`, and at once when it ends, so the last
   * products show the moment they are in.
   */
  streaming(active: boolean): void {
    if (active === this.isStreaming) return;
    this.isStreaming = active;
    if (active) return;
    if (this.pending === undefined) {
      // Told already: only the texts are left to make.
      this.fillTexts();
      return;
    }
    this.timers.clearTimeout(this.pending);
    this.pending = undefined;
    this.publish(this.state().ready);
  }

  /** The first `limit` products (by id) holding every word of `query`, and how many hold them. */
  search(query: string, limit: number): SearchResult {
    const words = fold(query).split(/\s+/).filter(Boolean);
    const products: Doc[] = [];
    if (words.length === 0) {
      // Everything: shown while a first sync streams in, every time the index is published.
      for (const p of this.products.list) {
        if (products.length === limit) break;
        if (p) products.push(p.doc);
      }
      return { products, total: this.products.size };
    }
    let total = 0;
    // Plain loops, no callback: `words.every((w) => ...)` made a closure per product — 100,000
    // allocations a search until V8 optimizes them away, which right after a reload it has not
    // (a first query of two words traced at 40 ms of script, 3 once warm).
    outer: for (const p of this.products.list) {
      if (!p) continue;
      p.text ??= haystack(p.doc);
      const text = p.text;
      for (let i = 0; i < words.length; i++) if (!text.includes(words[i]!)) continue outer;
      total++;
      if (products.length < limit) products.push(p.doc);
    }
    return { products, total };
  }

  get(id: string): Doc | undefined {
    return this.products.get(id)?.doc;
  }

  /** `store`'s print queue: the first `limit` products by id (all without one), and how many it holds. */
  queued(store: string, limit = Number.POSITIVE_INFINITY): SearchResult {
    const total = this.queueSize(store);
    const leave = this.upToDate.get(store);
    // A store's own: every product, scanned in order without asking the id map for any.
    const products =
      store === this.store
        ? firstSorted(this.products.list, (p) => p.doc._id, leave, limit, total).map((p) => p.doc)
        : firstSorted(this.carried.get(store) ?? [], (id) => id, leave, limit, total).map(
            (id) => this.products.get(id)!.doc,
          );
    return { products, total };
  }

  /** Every store that carries a product or printed a label, with how up to date its labels are. */
  compliance(): StoreCompliance[] {
    const stores = new Set(this.printed.keys());
    if (this.store && this.products.size > 0) stores.add(this.store);
    for (const [store, ids] of this.carried) if (ids.size > 0) stores.add(store);
    return [...stores].sort().map((store) => ({
      store,
      carried: this.carriedCount(store),
      queued: this.queueSize(store),
      lastPrinted: this.lastPrinted.get(store),
    }));
  }

  /** How many products `store` carries. */
  private carriedCount(store: string): number {
    return store === this.store ? this.products.size : (this.carried.get(store)?.size ?? 0);
  }

  /** How many labels `store` has to print. */
  private queueSize(store: string): number {
    return this.carriedCount(store) - (this.upToDate.get(store)?.size ?? 0);
  }

  private async load(): Promise<void> {
    // A reload's products get their texts now, not in slices after they show: the first
    // keystroke right after a reload made 100,000 of them itself. A/B in Chromium by hand
    // (5 rounds, medians): its slowest keystroke 81 -> 50 ms, usable after the reload
    // 1,242 -> 1,331 ms.
    const loaded: Indexed[] = [];
    for (const p of await this.db.collection(PRODUCTS).find()) loaded.push({ doc: p, text: haystack(p) });
    this.products.load(loaded);
    // A store's products are all in its reach, and nothing printed is read yet: every label is
    // due, which is the queue's start. The head office reads which stores carry each.
    if (!this.store) for (const { doc } of loaded) this.placeInStores(doc._id, undefined, doc);
    for (const r of await this.db
      .collection(PRINTED)
      .find(this.store ? { where: { store: this.store } } : {}))
      this.setPrinted(r, r);
  }

  private apply(e: ChangeEvent): void {
    let touched = false;
    for (const d of e.docs) {
      if (d.collection === PRODUCTS) this.setProduct(d.docId, d.after);
      else if (d.collection === PRINTED) this.setPrinted((d.after ?? d.before)!, d.after);
      else continue;
      touched = true;
    }
    if (touched) this.publishSoon();
  }

  /**
   * Views re-read after a change (a search scans every product); while changes come thousands
   * of documents a second, they are told at most every `PUBLISH_MS` (`STREAMING_PUBLISH_MS`
   * while an initial sync streams).
   */
  private publishSoon(): void {
    if (this.pending !== undefined) return;
    const since = this.timers.now() - this.publishedAt;
    const wait = this.isStreaming ? Math.max(PUBLISH_MS, STREAMING_PUBLISH_MS - since) : PUBLISH_MS;
    this.pending = this.timers.setTimeout(() => {
      this.pending = undefined;
      this.publish(this.state().ready);
    }, wait);
  }

  /** The stores `p` is in the reach of. */
  private storesOf(p: Doc | undefined): string[] {
    if (!p) return [];
    if (this.store) return [this.store];
    return Array.isArray(p.stores) ? p.stores.filter((s): s is string => typeof s === 'string') : [];
  }

  private setProduct(id: string, p: Doc | undefined): void {
    const previous = this.products.get(id)?.doc;
    if (p) {
      const indexed: Indexed = { doc: p, text: undefined };
      this.products.set(id, indexed);
      this.untexted.push(indexed);
    } else this.products.delete(id);
    if (this.store) {
      // A store's own products, every one in its reach: no sets of stores to compare.
      this.requeue(this.store, id);
      return;
    }
    this.placeInStores(id, previous, p);
  }

  /** At the head office: product `id` moved from the stores of `previous` to those of `p`. */
  private placeInStores(id: string, previous: Doc | undefined, p: Doc | undefined): void {
    const before = this.storesOf(previous);
    const after = this.storesOf(p);
    for (const store of new Set([...before, ...after])) {
      if (after.includes(store)) entry(this.carried, store, () => new Set<string>()).add(id);
      else this.carried.get(store)?.delete(id);
      this.requeue(store, id);
    }
  }

  /** `record`'s identity (store and product) from `key`, its content (none once removed) from `record`. */
  private setPrinted(key: Doc, record: Doc | undefined): void {
    const store = String(key.store);
    const product = String(key.product);
    if (this.store && store !== this.store) return;
    const fingerprints = entry(this.printed, store, () => new Map<string, string>());
    if (record) {
      fingerprints.set(product, String(record.fingerprint));
      const at = String(record.printedAt);
      if (at > (this.lastPrinted.get(store) ?? '')) this.lastPrinted.set(store, at);
    } else fingerprints.delete(product);
    this.requeue(store, product);
  }

  /** Whether `store`'s label of product `id` is as printed: out of its queue, or into it. */
  private requeue(store: string, id: string): void {
    const p = this.products.get(id)?.doc;
    const printed = this.printed.get(store)?.get(id);
    const upToDate =
      printed !== undefined &&
      p !== undefined &&
      (this.store !== undefined || this.storesOf(p).includes(store)) &&
      !labelChanged(p, printed);
    if (upToDate) entry(this.upToDate, store, () => new Set<string>()).add(id);
    else this.upToDate.get(store)?.delete(id);
  }

  private publish(ready: boolean): void {
    this.publishedAt = this.timers.now();
    this.set({ version: this.state().version + 1, ready, products: this.products.size });
    this.fillTexts();
  }

  /**
   * Makes the search texts of products that came without one, a slice at a time between other
   * work, once no initial sync streams: a first sync's 100,000 products show (and count) without
   * waiting for their texts (made as they came, they cost it 15% in Chromium: 2,106 vs 1,795 ms,
   * medians of 6 rounds A/B), and the first keystroke after it finds them made. A search before
   * then makes the ones it needs itself.
   */
  private fillTexts(): void {
    if (this.filling !== undefined || this.isStreaming || this.textsMade === this.untexted.length) return;
    this.filling = this.timers.setTimeout(() => {
      this.filling = undefined;
      if (this.isStreaming) return;
      this.makeTexts(this.timers.now() + TEXT_SLICE_MS);
      this.fillTexts();
    }, 0);
  }

  /** Makes the texts `untexted` waits for, oldest first, until all are made or the clock reads `until`. */
  private makeTexts(until: number): void {
    const queue = this.untexted;
    while (this.textsMade < queue.length) {
      const p = queue[this.textsMade++]!;
      p.text ??= haystack(p.doc);
      if ((this.textsMade & 255) === 0 && this.timers.now() >= until) break;
    }
    if (this.textsMade === queue.length) {
      this.untexted = [];
      this.textsMade = 0;
    }
  }
}

/**
 * The `limit` least of `items` by id (`idOf`) but those whose id is in `leave` (`size` of them),
 * in order, without sorting or copying all of them (a queue may hold 100,000, and a first sync
 * asks again every time the index is published). Holes (`undefined`) are skipped.
 */
function firstSorted<T>(
  items: Iterable<T | undefined>,
  idOf: (item: T) => string,
  leave: ReadonlySet<string> | undefined,
  limit: number,
  size: number,
): T[] {
  if (size <= limit) {
    const all: T[] = [];
    for (const item of items) if (item !== undefined && !leave?.has(idOf(item))) all.push(item);
    return all.sort((a, b) => (idOf(a) < idOf(b) ? -1 : 1));
  }
  const kept: T[] = [];
  const keptIds: string[] = [];
  for (const item of items) {
    if (item === undefined) continue;
    const id = idOf(item);
    if ((keptIds.length === limit && id >= keptIds[limit - 1]!) || leave?.has(id)) continue;
    let at = keptIds.length;
    while (at > 0 && keptIds[at - 1]! > id) at--;
    keptIds.splice(at, 0, id);
    kept.splice(at, 0, item);
    if (keptIds.length > limit) {
      keptIds.pop();
      kept.pop();
    }
  }
  return kept;
}

/** `map`'s entry for `key`, made empty first if it has none. */
function entry<K, V>(map: Map<K, V>, key: K, empty: () => V): V {
  const found = map.get(key);
  if (found !== undefined) return found;
  const made = empty();
  map.set(key, made);
  return made;
}
