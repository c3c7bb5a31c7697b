import type { Doc } from '@concord/db';

/** A product and the text a search looks in (`haystack`), once made. */
export interface Indexed {
  readonly doc: Doc;
  text: string | undefined;
}

/**
 * The products a `ProductIndex` holds, in the order a `Map` would keep them (loaded, then as
 * added), with the id map built only when something asks by id. A reload hands over 100,000
 * products at once, and a search and the first page of a store's queue scan them in order;
 * putting 100,000 freshly parsed ids in a map first (hashing each) took 35–100 ms in V8 while
 * the page waited (Node, by hand) — a change or a lookup by id builds it afterwards.
 */
export class Products {
  /** Each product in order; a removed one leaves a hole until the next compaction. */
  private entries: Array<Indexed | undefined> = [];
  /** Position in `entries` by id; undefined until needed after a `load`. */
  private positions: Map<string, number> | undefined = new Map();
  private live = 0;

  /** Replaces every product with `loaded`, in its order (ids unique). */
  load(loaded: Indexed[]): void {
    this.entries = loaded;
    this.positions = undefined;
    this.live = loaded.length;
  }

  get size(): number {
    return this.live;
  }

  /** Every product in order, holes (`undefined`) left where some were removed: for scans. */
  get list(): ReadonlyArray<Indexed | undefined> {
    return this.entries;
  }

  get(id: string): Indexed | undefined {
    const at = this.byId().get(id);
    return at === undefined ? undefined : this.entries[at];
  }

  /** Replaces the product with `id` in its place, or adds it last. */
  set(id: string, product: Indexed): void {
    const positions = this.byId();
    const at = positions.get(id);
    if (at !== undefined) {
      this.entries[at] = product;
      return;
    }
    positions.set(id, this.entries.length);
    this.entries.push(product);
    this.live++;
  }

  delete(id: string): void {
    const positions = this.byId();
    const at = positions.get(id);
    if (at === undefined) return;
    positions.delete(id);
    this.entries[at] = undefined;
    this.live--;
    // Holes are skipped by every scan: once they outnumber the products, they go.
    if (this.entries.length > 2 * this.live + 64) {
      this.entries = this.entries.filter((p) => p !== undefined);
      this.positions = undefined;
    }
  }

  private byId(): Map<string, number> {
    if (!this.positions) {
      const positions = new Map<string, number>();
      for (let i = 0; i < this.entries.length; i++) {
        const p = this.entries[i];
        if (p) positions.set(p.doc._id, i);
      }
      this.positions = positions;
    }
    return this.positions;
  }
}
