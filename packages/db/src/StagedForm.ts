import type { Doc } from './CollectionState.js';
import type { Document } from './Document.js';
import { encodeStoredDocument } from './StoredDocument.js';
import type { StoredDoc } from './storage/Storage.js';

/**
 * The stored form of a document state a commit stages (`stage`), made when first read. An
 * adapter that writes it out reads it in `commit`; memory storage keeps the record and reads
 * it only when a database opens on it again — so a replica in memory (a test, a tab without
 * persistence, the fan-out bench's thousand clients) takes in a live update without encoding
 * the document it changed: a tenth of the fan-out bench clients' CPU (a fifth of decoding and
 * integrating alone, profiled), most of it two buffers allocated outside the heap.
 *
 * Its collection keeps the decoded document while it holds this unmade, makes it once the
 * document leaves its cache of decoded ones (`CollectionState`), and lets go of its document
 * once a later commit of it is installed (`supersede`): a record a storage still holds then is
 * one it will never read (see `Storage`), and it holds no decoded document.
 */
export class StagedForm implements StoredDoc {
  private bytes: Uint8Array | undefined;

  constructor(
    readonly collection: string,
    readonly id: string,
    private doc: Document | undefined,
    private value: Doc | undefined,
  ) {}

  get state(): Uint8Array {
    if (!this.bytes) {
      if (!this.doc)
        throw new Error(
          `the stored form of ${this.collection}/${this.id} was read after a later commit replaced it`,
        );
      this.bytes = encodeStoredDocument(this.value, this.doc);
      this.supersede();
    }
    return this.bytes;
  }

  /** A later commit of the document is installed: its decoded state is no longer held here. */
  supersede(): void {
    this.doc = undefined;
    this.value = undefined;
  }
}
