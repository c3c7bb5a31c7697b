import type { CrdtType } from '../Crdt.js';
import { DecodeError } from '../errors.js';
import { MAX_REPLICA_ID_BYTES, type ReplicaId, runReplicaId } from '../ReplicaId.js';
import type { Interner } from './Interner.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });
/** Deep enough for any real document, shallow enough that recursion can never exhaust the stack. */
export const MAX_DEPTH = 64;

const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

/** `buf[at, at + 16)` as hex. */
export function hexOf(buf: Uint8Array, at: number): ReplicaId {
  let id = '';
  for (let i = 0; i < 16; i++) id += HEX[buf[at + i]!];
  return id as ReplicaId;
}

/** `n` ASCII bytes at `at` as a string. */
export function asciiOf(buf: Uint8Array, at: number, n: number): string {
  // apply, not spread: spreading a typed array goes through its iterator, ten times slower.
  return String.fromCharCode.apply(null, buf.subarray(at, at + n) as unknown as number[]);
}

/** The types of a decoder given none: one map for all (a decoder per small message is common). */
const NO_TYPES: ReadonlyMap<number, CrdtType> = new Map();

/**
 * Reads what `Encoder` wrote. Every read checks the bytes that remain, every count is bounded by
 * them (each counted item takes at least one byte), so decoding costs time and memory linear in
 * the input, whatever it declares. Every failure is a `DecodeError`.
 */
export class Decoder {
  private pos = 0;
  private depth = 0;
  /** Made on the first float: most messages have none, and a decoder per small message is common. */
  private view: DataView | undefined;
  private readonly replicaTable: ReplicaId[] = [];
  private lastWall = 0;
  /** What a reference written in place of a value (`Encoder.known`) stands for; undefined where there is none. */
  known: unknown = undefined;

  constructor(
    private readonly buf: Uint8Array,
    private readonly types: ReadonlyMap<number, CrdtType> = NO_TYPES,
    /** Where strings read before are kept (its owner's: a database, a server); none builds each anew. */
    private readonly interner?: Interner,
  ) {}

  fail(code: DecodeError['code'], message: string): never {
    throw new DecodeError(code, message, this.pos);
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  byte(): number {
    if (this.pos >= this.buf.length) this.fail('TRUNCATED', 'expected a byte');
    return this.buf[this.pos++]!;
  }

  uint(): number {
    // Up to four bytes (below 2^28) in integer arithmetic: the result is a small integer to V8,
    // so objects that store it keep their fields unboxed — a double-typed result would make
    // every such field a separate 16-byte heap number.
    let result = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      const b = this.byte();
      result |= (b & 0x7f) << shift;
      if (b < 0x80) return result;
    }
    this.pos -= 4;
    return this.bigUint();
  }

  private bigUint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.byte();
      result += (b & 0x7f) * scale;
      if (b < 0x80) {
        if (result > Number.MAX_SAFE_INTEGER) this.fail('BAD_VALUE', 'integer beyond 2^53');
        return result;
      }
      scale *= 0x80;
    }
    return this.fail('BAD_VALUE', 'integer longer than 8 bytes');
  }

  int(): number {
    const z = this.uint();
    // Zigzag; bit operations while they are exact, so small results stay small integers (see uint).
    if (z < 0x40000000) return (z >>> 1) ^ -(z & 1);
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }

  /** A count of items that follow, each at least `minBytes` long: never more than the input holds. */
  count(minBytes = 1): number {
    const n = this.uint();
    if (n * minBytes > this.remaining)
      this.fail('BAD_LENGTH', `count ${n} exceeds the ${this.remaining} bytes left`);
    return n;
  }

  float64(): number {
    if (this.remaining < 8) this.fail('TRUNCATED', 'expected 8 bytes of float');
    this.view ??= new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    const n = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return n;
  }

  /** Fails unless `n` more bytes are there. */
  private need(n: number): void {
    if (n > this.remaining) this.fail('BAD_LENGTH', `length ${n} exceeds the ${this.remaining} bytes left`);
  }

  bytes(n: number): Uint8Array {
    this.need(n);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** Passes over `n` bytes (`bytes` without the view: a snapshot's chunk skips thousands). */
  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }

  /** The counterpart of `Encoder.wall`. */
  wall(): number {
    const ms = this.lastWall + this.int();
    if (ms < 0 || ms > Number.MAX_SAFE_INTEGER) this.fail('BAD_VALUE', 'wall-clock time out of range');
    this.lastWall = ms;
    return ms;
  }

  string(): string {
    const n = this.uint();
    this.need(n);
    const at = this.pos;
    this.pos += n;
    if (n === 0) return '';
    // Short ASCII strings (keys, ids, SKUs) are most strings; building them directly is
    // several times faster than a TextDecoder call, and gives a flat string, not a chain of
    // concatenations that would cost memory for as long as the string lives.
    if (n <= 32) {
      const buf = this.buf;
      let i = at;
      while (i < at + n && buf[i]! < 0x80) i++;
      if (i === at + n) return this.interner ? this.interner.ascii(buf, at, n) : asciiOf(buf, at, n);
    }
    return this.utf8(this.buf.subarray(at, at + n));
  }

  private utf8(raw: Uint8Array): string {
    try {
      return utf8.decode(raw);
    } catch {
      return this.fail('BAD_VALUE', 'invalid UTF-8');
    }
  }

  replica(): ReplicaId {
    const index = this.uint();
    const id = this.replicaTable[index];
    if (id === undefined) this.fail('BAD_VALUE', `replica index ${index} not in the table`);
    return id;
  }

  /** The CRDT type a wire tag names. */
  type(tag: number): CrdtType {
    const t = this.types.get(tag);
    if (!t) this.fail('BAD_TAG', `unknown CRDT type tag ${tag}`);
    return t;
  }

  /** Bounds recursion for nested values; call `leave` when the nested value is read. */
  enter(): void {
    if (++this.depth > MAX_DEPTH) this.fail('TOO_DEEP', `nesting deeper than ${MAX_DEPTH}`);
  }

  leave(): void {
    this.depth--;
  }

  /** Reads the message header written by `Encoder.finish`; returns its kind byte. */
  header(version: number): number {
    const v = this.byte();
    if (v !== version) this.fail('BAD_VERSION', `format version ${v}, expected ${version}`);
    const kind = this.byte();
    const n = this.count();
    const table = this.replicaTable;
    // Run ids (`runReplicaId`) name their replica by its place in the table, before or after them.
    let runs: Array<[at: number, replica: number, run: number]> | undefined;
    for (let i = 0; i < n; i++) {
      const form = this.byte();
      if (form === 0) {
        this.need(16);
        table.push(
          (this.interner ? this.interner.hexId(this.buf, this.pos) : hexOf(this.buf, this.pos)) as ReplicaId,
        );
        this.pos += 16;
      } else if (form === 1) {
        const id = this.string();
        if (id.length === 0 || id.length > MAX_REPLICA_ID_BYTES)
          this.fail('BAD_VALUE', 'replica id length out of range');
        table.push(id as ReplicaId);
      } else if (form === 2) {
        const replica = this.uint();
        const run = this.uint();
        if (run < 1) this.fail('BAD_VALUE', 'run 0');
        runs ??= [];
        runs.push([i, replica, run]);
        table.push('' as ReplicaId);
      } else {
        return this.fail('BAD_TAG', `replica id form ${form}`);
      }
    }
    // Most messages name one or two replicas: a set to find repeats only where a scan would be slow.
    const named = runs ? table.filter((id) => id !== '') : table;
    if (
      named.length > 8 ? new Set(named).size !== named.length : named.some((id, i) => named.indexOf(id) !== i)
    )
      this.fail('BAD_VALUE', 'duplicate replica id in table');
    if (runs)
      this.resolveRuns(
        runs,
        named.some((id) => id.includes('\u0000')),
      );
    return kind;
  }

  /**
   * Makes the table's run ids from their replica's entry and their run. A map of 100,000
   * counters names as many runs: they are told apart by their numbers, not by a set of the
   * strings they make (which took most of its decoding). Only where a replica's own id holds a
   * NUL (`anyNul`), and so might equal a run id, are the strings compared.
   */
  private resolveRuns(
    runs: ReadonlyArray<[at: number, replica: number, run: number]>,
    anyNul: boolean,
  ): void {
    const table = this.replicaTable;
    // Before any is made: a run's replica must be an entry of its own, not another run.
    const isRun = new Uint8Array(table.length);
    for (const [at] of runs) isRun[at] = 1;
    const seen = new Map<number, Set<number>>();
    for (const [at, replica, run] of runs) {
      if (replica >= table.length || isRun[replica])
        this.fail('BAD_VALUE', `run of replica index ${replica}`);
      let runsOf = seen.get(replica);
      if (!runsOf) {
        runsOf = new Set();
        seen.set(replica, runsOf);
      }
      if (runsOf.has(run)) this.fail('BAD_VALUE', 'duplicate replica id in table');
      runsOf.add(run);
      table[at] = runReplicaId(table[replica]!, run);
    }
    if (anyNul && new Set(table).size !== table.length)
      this.fail('BAD_VALUE', 'duplicate replica id in table');
  }

  end(): void {
    if (this.pos !== this.buf.length) this.fail('TRAILING_BYTES', `${this.remaining} bytes after the value`);
  }
}
