import {
  type Crdt,
  decodeCrdt,
  encodeCrdt,
  List,
  LWWRegister,
  ORMap,
  PNCounter,
  Text,
  typeOf,
} from '@concord/crdt';
import { SeededRng, seeds } from '@concord/testkit';
import { describe, it } from 'vitest';
import { expectEqual } from './support/scenario.js';
import { type Actor, makeActors } from './support/specs.js';

const REPLICAS = 5;
const STEPS = 300;
const LETTERS = 'abcdefghijklmnopqrstuvwxyz 😀é';

/** What each replica holds: a text, a list of rows and JSON, and a map holding such a list. */
interface Replica {
  text: Text;
  list: List;
  doc: ORMap;
}
type Part = keyof Replica;
const PARTS: readonly Part[] = ['text', 'list', 'doc'];

function word(rng: SeededRng): string {
  const chars = [...LETTERS];
  let out = '';
  for (let n = rng.chance(0.5) ? 1 : 1 + rng.int(8); n > 0; n--) out += rng.pick(chars);
  return out;
}

/** A boundary that does not split a surrogate pair: positions are UTF-16 offsets. */
function boundary(t: Text, rng: SeededRng): number {
  const s = t.value();
  let pos = rng.int(s.length + 1);
  if (pos > 0 && pos < s.length && /[\uDC00-\uDFFF]/.test(s[pos]!)) pos--;
  return pos;
}

function editText(t: Text, actor: Actor, rng: SeededRng): Text {
  if (t.length > 0 && rng.chance(0.35)) {
    const from = boundary(t, rng);
    const to = boundary(t, rng);
    const [a, b] = from <= to ? [from, to] : [to, from];
    // Single characters and ranges alike.
    return t.delete(
      actor.id,
      a,
      rng.chance(0.5) ? Math.min(b - a, t.value().codePointAt(a)! > 0xffff ? 2 : 1) : b - a,
    );
  }
  return t.insert(actor.id, boundary(t, rng), word(rng));
}

function row(actor: Actor, rng: SeededRng): ORMap {
  const m = ORMap.empty();
  m.update(actor.id, 'name', LWWRegister, (r) => r.set(actor.clock.now(), word(rng)));
  m.update(actor.id, 'stock', PNCounter, (c) => c.increment(actor.id, rng.int(20)));
  return m;
}

function editRow(m: ORMap, actor: Actor, rng: SeededRng): ORMap {
  switch (rng.int(4)) {
    case 0:
      return m.update(actor.id, 'name', LWWRegister, (r) => r.set(actor.clock.now(), word(rng)));
    case 1:
      return m.update(actor.id, 'stock', PNCounter, (c) => c.increment(actor.id, rng.int(7) - 3));
    case 2:
      return m.update(actor.id, 'tags', List, (l) => editList(l, actor, rng, 1));
    default:
      return m.remove(rng.pick(['name', 'stock', 'tags']));
  }
}

/** Inserts JSON or rows (runs of several at once, or one), updates rows, deletes ranges. */
function editList(l: List, actor: Actor, rng: SeededRng, depth: number): List {
  const n = l.length;
  const c = rng.int(10);
  if (n > 0 && c < 3) {
    const pos = rng.int(n);
    return l.delete(actor.id, pos, 1 + rng.int(Math.min(3, n - pos)));
  }
  if (n > 0 && c < 7) {
    const pos = rng.int(n);
    const e = l.get(pos);
    if (depth === 0 && typeof e === 'object' && e !== null && typeOf(e as Crdt) === ORMap) {
      return l.update(actor.id, pos, ORMap, (m) => editRow(m, actor, rng));
    }
  }
  const items =
    depth === 0 && rng.chance(0.5)
      ? Array.from({ length: 1 + rng.int(2) }, () => row(actor, rng))
      : Array.from({ length: 1 + rng.int(3) }, () => rng.int(100));
  return l.insert(actor.id, rng.int(n + 1), ...items);
}

function edit(r: Replica, part: Part, actor: Actor, rng: SeededRng): Crdt {
  if (part === 'text') return editText(r.text, actor, rng);
  if (part === 'list') return editList(r.list, actor, rng, 0);
  return r.doc.update(actor.id, 'lines', List, (l) => editList(l, actor, rng, 0));
}

interface Message {
  readonly part: Part;
  readonly delta: Crdt;
}

/**
 * The sequence fuzz of issue 3: 5 replicas type runs and single characters, insert, update and
 * delete rows (ORMaps in a List, and in a List inside an ORMap), and exchange deltas through
 * queues that drop, duplicate and reorder, 30% of them through the codec. Then anti-entropy:
 * `deltaSince` each way for the sequences, whole states for the map. All must be identical.
 */
function simulate(seed: number): void {
  const rng = new SeededRng(seed);
  const actors = makeActors(REPLICAS, rng);
  const replicas: Replica[] = actors.map(() => ({
    text: Text.empty(),
    list: List.empty(),
    doc: ORMap.empty(),
  }));
  const inboxes: Message[][] = actors.map(() => []);
  const join = (to: Replica, part: Part, delta: Crdt) => {
    const d = rng.chance(0.3) ? decodeCrdt(encodeCrdt(delta)) : delta;
    (to[part] as Crdt).join(d as never);
  };

  for (let step = 0; step < STEPS; step++) {
    const i = rng.int(REPLICAS);
    const part = rng.pick(PARTS);
    const delta = edit(replicas[i]!, part, actors[i]!, rng);
    for (let j = 0; j < REPLICAS; j++) {
      if (j === i || rng.chance(0.15)) continue;
      inboxes[j]!.push({ part, delta });
      if (rng.chance(0.1)) inboxes[j]!.push({ part, delta });
    }
    for (let k = rng.int(5); k > 0; k--) {
      const j = rng.int(REPLICAS);
      const inbox = inboxes[j]!;
      if (inbox.length > 0) {
        const m = inbox.splice(rng.int(inbox.length), 1)[0]!;
        join(replicas[j]!, m.part, m.delta);
      }
    }
  }

  const hub = replicas[0]!;
  for (const r of replicas.slice(1)) {
    join(hub, 'text', r.text.deltaSince(hub.text.version()));
    join(hub, 'list', r.list.deltaSince(hub.list.version()));
    join(hub, 'doc', r.doc);
  }
  for (const r of replicas.slice(1)) {
    join(r, 'text', hub.text.deltaSince(r.text.version()));
    join(r, 'list', hub.list.deltaSince(r.list.version()));
    join(r, 'doc', hub.doc);
    for (const part of PARTS) expectEqual(r[part] as Crdt, hub[part] as Crdt);
  }
}

describe('sequence simulation: text, lists of maps, maps of lists', () => {
  it.each(seeds(100))('seed %i converges', (seed) => {
    try {
      simulate(seed);
    } catch (e) {
      console.error(
        `sequence simulation failed — replay with: SEED=${seed} npx vitest run packages/crdt/test/sequence-simulation.test.ts`,
      );
      throw e;
    }
  });
});
