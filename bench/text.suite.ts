// Text CRDTs on real editing traces (bench/data), and the crdt-benchmarks shapes of
// concurrent editing: 2 and √N replicas insert concurrently, then every update is merged.
// Concord against Yjs, Automerge and Loro, ratios to Yjs in the same run.
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as Automerge from '@automerge/automerge';
import { decodeCrdt, encodeCrdt, Text } from '@concord/crdt';
import {
  type ConcordDoc,
  concordText,
  loadTrace,
  replaySequential,
  SEQUENTIAL_TRACES,
  SeededRng,
  type TextReplica,
} from '@concord/testkit';
import { LoroDoc } from 'loro-crdt';
import * as Y from 'yjs';
import { medianMs, progress, type Result } from './harness.js';

interface TextSystem<D> extends TextReplica<D> {
  readonly name: string;
  encode(doc: D): Uint8Array;
  /** Loads an encoded document and reads its whole text. */
  load(bytes: Uint8Array): { doc: unknown; text: string };
  /** Applies several encoded updates (from `encode`) to a fresh document; returns its text. */
  mergeUpdates(updates: readonly Uint8Array[]): string;
}

const concord: TextSystem<ConcordDoc> = {
  ...concordText,
  name: 'concord',
  encode: (doc) => encodeCrdt(doc.text),
  load(bytes) {
    const doc = decodeCrdt(bytes, Text);
    return { doc, text: doc.value() };
  },
  mergeUpdates(updates) {
    const doc = Text.empty();
    for (const u of updates) doc.join(decodeCrdt(u, Text));
    return doc.value();
  },
};

/** Client ids of one agent's documents lie in [agent × this, (agent + 1) × this): agent 0's first is 1, as small as Yjs ids get. */
const CLIENTS_PER_AGENT = 1_000_000;
let nextClientId = 1;

const yjs: TextSystem<Y.Doc> = {
  name: 'yjs',
  create(agent) {
    const doc = new Y.Doc();
    doc.clientID = agent * CLIENTS_PER_AGENT + 1;
    return doc;
  },
  insert: (doc, pos, s) => doc.getText('t').insert(pos, s),
  delete: (doc, pos, len) => doc.getText('t').delete(pos, len),
  // A Yjs document's client id must be its own, so a fork takes a fresh one — yet ordered by
  // agent, since Yjs breaks ties between concurrent inserts by client id, as the trace's
  // reference result does by agent.
  fork(doc, agent) {
    const copy = new Y.Doc();
    copy.clientID = agent * CLIENTS_PER_AGENT + 1 + nextClientId++;
    Y.applyUpdate(copy, Y.encodeStateAsUpdate(doc));
    return copy;
  },
  continueAs: (doc, agent) =>
    Math.floor(doc.clientID / 1_000_000) === agent + 1 ? doc : yjs.fork(doc, agent),
  merge: (into, from) => Y.applyUpdate(into, Y.encodeStateAsUpdate(from, Y.encodeStateVector(into))),
  text: (doc) => doc.getText('t').toString(),
  encode: (doc) => Y.encodeStateAsUpdate(doc),
  load(bytes) {
    const doc = new Y.Doc();
    Y.applyUpdate(doc, bytes);
    return { doc, text: doc.getText('t').toString() };
  },
  mergeUpdates(updates) {
    const doc = new Y.Doc();
    for (const u of updates) Y.applyUpdate(doc, u);
    return doc.getText('t').toString();
  },
};

const actor = (agent: number) => (agent + 1).toString(16).padStart(32, '0');
interface AmDoc {
  doc: Automerge.Doc<{ t: string }>;
}
const AM_BASE = Automerge.save(Automerge.from({ t: '' }, { actor: 'ff'.repeat(16) }));

const automerge: TextSystem<AmDoc> = {
  name: 'automerge',
  create: (agent) => ({ doc: Automerge.load(AM_BASE, { actor: actor(agent) }) }),
  insert(d, pos, s) {
    d.doc = Automerge.change(d.doc, (x) => Automerge.splice(x, ['t'], pos, 0, s));
  },
  delete(d, pos, len) {
    d.doc = Automerge.change(d.doc, (x) => Automerge.splice(x, ['t'], pos, len));
  },
  fork: (d, agent) => ({ doc: Automerge.clone(d.doc, { actor: actor(agent) }) }),
  continueAs: (d, agent) => automerge.fork(d, agent),
  merge(into, from) {
    into.doc = Automerge.merge(into.doc, from.doc);
  },
  text: (d) => d.doc.t,
  encode: (d) => Automerge.save(d.doc),
  load(bytes) {
    const doc = Automerge.load<{ t: string }>(bytes);
    return { doc, text: doc.t };
  },
  mergeUpdates(updates) {
    let doc = Automerge.load<{ t: string }>(AM_BASE);
    for (const u of updates) doc = Automerge.loadIncremental(doc, u);
    return doc.t;
  },
};

const loro: TextSystem<LoroDoc> = {
  name: 'loro',
  create(agent) {
    const doc = new LoroDoc();
    doc.setPeerId(BigInt(agent + 1));
    return doc;
  },
  insert: (doc, pos, s) => doc.getText('t').insert(pos, s),
  delete: (doc, pos, len) => doc.getText('t').delete(pos, len),
  fork(doc, agent) {
    const copy = doc.fork();
    copy.setPeerId(BigInt(agent + 1));
    return copy;
  },
  continueAs: (doc, agent) => (doc.peerId === BigInt(agent + 1) ? doc : loro.fork(doc, agent)),
  merge: (into, from) => void into.import(from.export({ mode: 'update', from: into.oplogVersion() })),
  text: (doc) => doc.getText('t').toString(),
  encode: (doc) => doc.export({ mode: 'snapshot' }),
  load(bytes) {
    const doc = LoroDoc.fromSnapshot(bytes);
    return { doc, text: doc.getText('t').toString() };
  },
  mergeUpdates(updates) {
    const doc = new LoroDoc();
    doc.importBatch([...updates]);
    return doc.getText('t').toString();
  },
};

// biome-ignore lint/suspicious/noExplicitAny: systems differ only in their document type
export const TEXT_SYSTEMS: TextSystem<any>[] = [yjs, automerge, loro, concord];

/**
 * Memory held by a loaded document: heap + external + array buffers, measured in a fresh
 * process (bench/load-memory.ts) that does nothing but load it, so no garbage from the
 * replay or from another system blurs the number.
 */
function loadMemory(system: string, bytes: Uint8Array): number {
  const file = join(tmpdir(), `concord-bench-${process.pid}.bin`);
  writeFileSync(file, bytes);
  try {
    const out = execFileSync(
      process.execPath,
      [
        '--expose-gc',
        '--conditions=source',
        '--import',
        'tsx',
        fileURLToPath(new URL('./load-memory.ts', import.meta.url)),
        system,
        file,
      ],
      { encoding: 'utf8' },
    );
    return Number(out.trim().split('\n').pop());
  } finally {
    rmSync(file, { force: true });
  }
}

function check(name: string, got: string, want: string): void {
  if (got !== want) throw new Error(`${name}: wrong text (${got.length} chars, expected ${want.length})`);
}

/**
 * Each system replays each trace in a fresh process (bench/text-trace-worker.ts): a long
 * replay leaves the heap and the JIT in a state that would tax whatever runs after it.
 */
export function textTraceSuite(runs: number, systems = TEXT_SYSTEMS): Result[] {
  const results: Result[] = [];
  const worker = fileURLToPath(new URL('./text-trace-worker.ts', import.meta.url));
  for (const traceName of SEQUENTIAL_TRACES) {
    for (const sys of systems) {
      progress(`text/${traceName} ${sys.name}`);
      const out = execFileSync(
        process.execPath,
        ['--expose-gc', '--conditions=source', '--import', 'tsx', worker, sys.name, traceName, String(runs)],
        { encoding: 'utf8', maxBuffer: 1 << 24 },
      );
      for (const line of out.trim().split('\n')) if (line.startsWith('{')) results.push(JSON.parse(line));
    }
  }
  return results;
}

/** One system on one sequential trace: apply, encode, size, load+read, memory after load. */
export function measureTrace(
  sys: TextSystem<unknown>,
  traceName: (typeof SEQUENTIAL_TRACES)[number],
  runs: number,
): Result[] {
  const trace = loadTrace(traceName);
  const suite = `text/${traceName}`;
  const results: Result[] = [];
  const add = (metric: string, value: number) => results.push({ suite, system: sys.name, metric, value });
  let doc: unknown;
  const replay = () => {
    doc = replaySequential(sys, trace);
  };
  // The median of `runs` replays — or the first alone when it takes over five seconds
  // (Automerge takes a minute on the largest trace).
  const first = medianMs(replay, 1);
  add('apply ms', first > 5000 ? first : medianMs(replay, runs));
  check(sys.name, sys.text(doc), trace.endContent);
  let bytes: Uint8Array = new Uint8Array();
  add(
    'encode ms',
    medianMs(() => {
      bytes = sys.encode(doc);
    }, runs),
  );
  add('bytes', bytes.length);
  const loadAndRead = () => check(sys.name, sys.load(bytes).text, trace.endContent);
  // One load first, untimed, so the median compares loading code, not compiling it.
  loadAndRead();
  add('load+read ms', medianMs(loadAndRead, runs));
  add('memory after load bytes', loadMemory(sys.name, bytes));
  return results;
}

/**
 * crdt-benchmarks' B2/B3 shapes: `replicas` replicas each insert their share of `n` single
 * characters at seeded random positions of their own copy, concurrently; then all the updates
 * are merged into a fresh document.
 */
export function textMergeSuite(
  n: number,
  replicaCounts: readonly number[],
  runs: number,
  systems = TEXT_SYSTEMS,
): Result[] {
  const results: Result[] = [];
  for (const k of replicaCounts) {
    const each = Math.floor(n / k);
    const suite = `text/merge ${k} replicas × ${each} inserts`;
    for (const sys of systems) {
      progress(`${suite} ${sys.name}`);
      const rng = new SeededRng(k);
      const updates = Array.from({ length: k }, (_, agent) => {
        const doc = sys.create(agent);
        let len = 0;
        for (let i = 0; i < each; i++) {
          sys.insert(doc, rng.int(len + 1), String.fromCharCode(97 + rng.int(26)));
          len++;
        }
        return sys.encode(doc);
      });
      let text = '';
      results.push({
        suite,
        system: sys.name,
        metric: 'merge ms',
        value: medianMs(() => {
          text = sys.mergeUpdates(updates);
        }, runs),
      });
      if (text.length !== each * k)
        throw new Error(`${sys.name}: merged ${text.length} of ${each * k} characters`);
      results.push({
        suite,
        system: sys.name,
        metric: 'update bytes',
        value: updates.reduce((s, u) => s + u.length, 0),
      });
    }
  }
  return results;
}
