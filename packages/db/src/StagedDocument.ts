import type { CollectionState, Doc } from './CollectionState.js';
import type { Document } from './Document.js';
import { StagedForm } from './StagedForm.js';
import type { WrittenChange } from './WrittenDocument.js';

/**
 * A document a commit writes: its new state, the JSON it reads as, and its stored form. A state
 * adopted as a sync server stored it has no decoded `doc`; an evicted document has neither and
 * an empty stored form; a new document written whole has neither yet: its change makes both
 * when asked (`WrittenChange`).
 */
export interface StagedDocument {
  readonly collection: CollectionState;
  readonly id: string;
  readonly doc: Document | undefined;
  readonly value: Doc | undefined;
  readonly stored: Uint8Array | WrittenChange | StagedForm;
  /** A live document this replica did not know, adopted whole: installed without looking for what it replaces. */
  readonly adopted?: true;
}

/** A document's new state, staged: its JSON now, its stored form when first read, for storage and memory alike. */
export function stage(collection: CollectionState, id: string, doc: Document): StagedDocument {
  const value = doc.value(id) as Doc | undefined;
  return { collection, id, doc, value, stored: new StagedForm(collection.name, id, doc, value) };
}
