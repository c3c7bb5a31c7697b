import { jsonArrayText, splitStored } from '../StoredDocument.js';
import type { CollectionJson } from './Storage.js';

/** Documents whose JSON one text holds (see CollectionJson). */
const JSON_RUN = 10_000;

interface Texts {
  readonly live: string[];
  readonly removed: string[];
  /** The JSON of live documents not yet in a text of `live`. */
  run: Uint8Array[];
}

/**
 * What `DeferringStorage.loadJson` hands over — each collection's live documents' JSON as the
 * texts of JSON arrays, and its removed ids — made from stored forms as a load reads them.
 * Made as they come, a storage that reads its documents a run at a time decodes one run's JSON
 * while the next is still being read (IndexedDB's packed runs, inflated beside the page: a
 * reload of 100,000 products sat idle for them, then decoded all their JSON).
 */
export class JsonTexts {
  private readonly byCollection = new Map<string, Texts>();

  /**
   * A document's latest stored form; an empty one (a deletion) is no document. `json`: its JSON,
   * if the caller read it already (`readStoredForms`), else it is read here.
   */
  add(collection: string, id: string, stored: Uint8Array, json?: Uint8Array): void {
    let texts = this.byCollection.get(collection);
    if (!texts) {
      texts = { live: [], removed: [], run: [] };
      this.byCollection.set(collection, texts);
    }
    if (stored.length === 0) return;
    json ??= splitStored(stored)[0];
    if (json.length === 0) {
      texts.removed.push(id);
      return;
    }
    texts.run.push(json);
    if (texts.run.length === JSON_RUN) {
      texts.live.push(jsonArrayText(texts.run));
      texts.run = [];
    }
  }

  /** Every collection's, once all documents are added. */
  collections(): CollectionJson[] {
    const out: CollectionJson[] = [];
    for (const [collection, texts] of this.byCollection) {
      if (texts.run.length > 0) texts.live.push(jsonArrayText(texts.run));
      texts.run = [];
      out.push({ collection, live: texts.live, removed: texts.removed });
    }
    return out;
  }
}
