import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

/** The editing traces in bench/data (format, sources and CC BY 4.0 licence in TRACES.md there). */
export const TRACE_DIR = join(dirname(fileURLToPath(import.meta.url)), '../../../bench/data');

export type Patch = [pos: number, deleted: number, inserted: string];

export interface SequentialTrace {
  readonly startContent: string;
  readonly endContent: string;
  readonly txns: ReadonlyArray<{ readonly patches: readonly Patch[] }>;
}

export interface ConcurrentTrace {
  readonly kind: 'concurrent';
  readonly endContent: string;
  readonly numAgents: number;
  readonly txns: ReadonlyArray<{
    readonly parents: readonly number[];
    readonly numChildren: number;
    readonly agent: number;
    readonly patches: readonly Patch[];
  }>;
}

export const SEQUENTIAL_TRACES = ['automerge-paper', 'rustcode', 'sveltecomponent'] as const;
export const CONCURRENT_TRACES = ['friendsforever'] as const;

export function loadTrace(name: (typeof SEQUENTIAL_TRACES)[number]): SequentialTrace;
export function loadTrace(name: (typeof CONCURRENT_TRACES)[number]): ConcurrentTrace;
export function loadTrace(name: string): SequentialTrace | ConcurrentTrace {
  const file = name === 'friendsforever' ? `${name}.concurrent.json.gz` : `${name}.json.gz`;
  return JSON.parse(gunzipSync(readFileSync(join(TRACE_DIR, file))).toString('utf8'));
}

/** What a replay needs of a text CRDT: local edits on a replica, forks and merges. */
export interface TextReplica<D> {
  create(agent: number): D;
  insert(doc: D, pos: number, text: string): void;
  delete(doc: D, pos: number, len: number): void;
  /** A copy of `doc` that continues as `agent`. */
  fork(doc: D, agent: number): D;
  /** `doc` itself continuing as `agent` (its last use), or a fork where the system cannot switch agents. */
  continueAs(doc: D, agent: number): D;
  /** Brings everything of `from` into `into`. */
  merge(into: D, from: D): void;
  text(doc: D): string;
}

export function replaySequential<D>(sys: TextReplica<D>, trace: SequentialTrace): D {
  const doc = sys.create(0);
  for (const txn of trace.txns) {
    for (const [pos, del, ins] of txn.patches) {
      if (del > 0) sys.delete(doc, pos, del);
      if (ins.length > 0) sys.insert(doc, pos, ins);
    }
  }
  return doc;
}

/**
 * Replays a concurrent trace: each transaction runs on a replica of the version it was made on
 * (a merge of its parents), as its agent; a version is kept only until its last child has
 * forked from it. Returns the merge of every branch tip.
 */
export function replayConcurrent<D>(sys: TextReplica<D>, trace: ConcurrentTrace): D {
  const versions = new Map<number, { doc: D; children: number }>();
  const tips: D[] = [];
  const take = (i: number, agent: number): D => {
    const v = versions.get(i)!;
    if (--v.children > 0) return sys.fork(v.doc, agent);
    versions.delete(i);
    return sys.continueAs(v.doc, agent);
  };
  trace.txns.forEach((txn, i) => {
    const [first, ...rest] = txn.parents;
    const doc = first === undefined ? sys.create(txn.agent) : take(first, txn.agent);
    for (const p of rest) {
      const v = versions.get(p)!;
      sys.merge(doc, v.doc);
      if (--v.children === 0) versions.delete(p);
    }
    for (const [pos, del, ins] of txn.patches) {
      if (del > 0) sys.delete(doc, pos, del);
      if (ins.length > 0) sys.insert(doc, pos, ins);
    }
    if (txn.numChildren > 0) versions.set(i, { doc, children: txn.numChildren });
    else tips.push(doc);
  });
  // Branches nobody merged in the trace end up merged here.
  const [result, ...others] = tips;
  for (const t of others) sys.merge(result!, t);
  return result!;
}
