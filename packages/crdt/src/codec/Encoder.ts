import { type ReplicaId, runOf } from '../ReplicaId.js';

const utf8 = new TextEncoder();

/**
 * Writes the body of one message into a growable buffer. Replica ids are interned: the body
 * holds a small index, and `finish` prepends the table of ids, each written once per message.
 *
 * Message layout: `version:u8  kind:u8  replicaCount:varint  replica*  body`.
 * A replica is `0` followed by 16 raw bytes when it is a 32-character lowercase hex id, `2`
 * followed by its replica's index in the table and the run for a run id (`runReplicaId`: a
 * map of 100,000 counters names as many, 63 bytes an element as strings, 28 so), or `1`
 * followed by a string otherwise.
 */
/** A spent encoder's buffer. */
const SPENT = new Uint8Array(0);
/**
 * The first buffer's size: a stored document of the retail catalogue (12 fields, its JSON and
 * its state) fits, so most encoders allocate once. (A process-wide spare buffer handed from one
 * encoder to the next saved nothing measurable on the database bench, and was state shared by
 * every database of the process.)
 */
const FIRST_BUFFER = 512;

/** The value of a lowercase hex digit's char code; -1 for anything else. */
function nibble(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 97 && code <= 102) return code - 87;
  return -1;
}

/**
 * Bytes left free before the body for the header `finish` writes: version, kind, and a replica
 * table of up to two hex ids fit, so most messages come out of one copy.
 */
const ROOM = 40;
/** Room `reserve` leaves past what it is asked for: the version, kind and replica table `finish` writes there. */
const RESERVE_SLACK = 1024;

export class Encoder {
  private buf: Uint8Array;
  private view: DataView | undefined;
  private pos = ROOM;
  /** Where the message body starts: after the room for its header (and a raw prefix before that). */
  private bodyStart = ROOM;
  /** Where a raw prefix (`startMessage`) ends; it starts at `ROOM`. */
  private prefixEnd = ROOM;
  /**
   * The replica table: the first id alone (most messages name one replica, and a database
   * writes several small messages per document), the others by index from the second on.
   */
  private first: ReplicaId | undefined = undefined;
  private others: Map<ReplicaId, number> | undefined = undefined;
  /** The table's run ids (`runReplicaId`) by index, parsed once, while `finish` writes the table. */
  private runs: Array<{ replica: ReplicaId; run: number }> | undefined = undefined;
  private lastWall = 0;
  /**
   * A value written elsewhere (see `ORMap.encodeBeside`): `writeJson` writes a reference instead
   * of a value that is this one — the same object, or an equal primitive.
   */
  known: unknown = undefined;

  constructor() {
    this.buf = new Uint8Array(FIRST_BUFFER);
  }

  /**
   * Makes room for `n` more bytes at once: a writer that knows its size (a snapshot chunk's
   * stored forms, megabytes) spares the buffer's doublings and their copies.
   */
  reserve(n: number): void {
    // Exactly (and the header `finish` writes after the body): a doubling would leave half of a
    // chunk's buffer spare, and `finish` could not hand it out as it is (`fills`).
    if (this.pos + n > this.buf.length) this.grow(this.pos + n + RESERVE_SLACK);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    this.grow(size);
  }

  private grow(size: number): void {
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = undefined;
  }

  /** How many bytes have been written so far (prefix and body). */
  get length(): number {
    return this.pos - ROOM - (this.bodyStart - this.prefixEnd);
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }

  /** Unsigned LEB128 for integers in [0, 2^53). */
  uint(n: number): void {
    this.ensure(8);
    this.pos = writeUint(this.buf, this.pos, n);
  }

  /** Zig-zag LEB128 for safe integers of either sign. */
  int(n: number): void {
    this.uint(n < 0 ? -2 * n - 1 : 2 * n);
  }

  float64(n: number): void {
    this.ensure(8);
    this.view ??= new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    this.view.setFloat64(this.pos, n, true);
    this.pos += 8;
  }

  string(s: string): void {
    // Short strings (names, ids, most values) are written directly while they are ASCII: a
    // TextEncoder call costs more than the copy itself.
    const n = s.length;
    if (n < 0x80) {
      this.ensure(1 + n);
      const buf = this.buf;
      const start = this.pos + 1;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        buf[start + i] = c;
      }
      if (i === n) {
        buf[this.pos] = n;
        this.pos = start + n;
        return;
      }
    }
    // UTF-8 takes one to three bytes per UTF-16 unit. When both ends of that range have a
    // length prefix of the same width, the text is written once, straight after its prefix.
    const width = uintWidth(n);
    this.ensure(width + n * 3);
    const start = this.pos + width;
    if (uintWidth(n * 3) === width) {
      const { written } = utf8.encodeInto(s, this.buf.subarray(start));
      writeUint(this.buf, this.pos, written);
      this.pos = start + written;
      return;
    }
    const bytes = utf8.encode(s);
    this.uint(bytes.length);
    this.bytes(bytes);
  }

  /**
   * A wall-clock time in milliseconds, written as the difference to the previous one in this
   * message: timestamps written together are close, so most take one or two bytes, not six.
   */
  wall(ms: number): void {
    this.int(ms - this.lastWall);
    this.lastWall = ms;
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    // Whole: no subarray to make (a snapshot chunk writes thousands of stored forms).
    if (b.length > 64) this.buf.set(b, this.pos);
    else copy(b, 0, b.length, this.buf, this.pos);
    this.pos += b.length;
  }

  replica(id: ReplicaId): void {
    if (id === this.first) {
      this.uint(0);
      return;
    }
    if (this.first === undefined) {
      this.first = id;
      this.uint(0);
      return;
    }
    this.others ??= new Map();
    let index = this.others.get(id);
    if (index === undefined) {
      index = this.others.size + 1;
      this.others.set(id, index);
    }
    this.uint(index);
  }

  /** How many replicas the table holds. */
  private get replicaCount(): number {
    return this.first === undefined ? 0 : 1 + (this.others?.size ?? 0);
  }

  /**
   * The body alone, for a frame around other messages (no header, so no replica table: it
   * refuses if a replica was written). The encoder is spent.
   */
  finishRaw(): Uint8Array {
    if (this.replicaCount > 0) throw new TypeError('a raw body cannot name replicas: use finish');
    const out = this.buf.slice(this.bodyStart, this.pos);
    this.release();
    return out;
  }

  private release(): void {
    this.buf = SPENT;
    this.runs = undefined;
    this.pos = ROOM;
    this.bodyStart = ROOM;
    this.prefixEnd = ROOM;
  }

  /**
   * Ends a raw prefix: what was written so far goes out in front of the message `finish` makes
   * (a stored document's JSON before its state), sparing a second encoder and copy.
   */
  startMessage(): void {
    if (this.replicaCount > 0) throw new TypeError('a raw prefix cannot name replicas');
    this.prefixEnd = this.pos;
    this.ensure(ROOM);
    this.pos += ROOM;
    this.bodyStart = this.pos;
  }

  /** Notes table entry `at` if it is a run id, and puts its replica in the table. */
  private noteRun(id: ReplicaId, at: number): void {
    const r = runOf(id);
    if (!r) return;
    this.runs ??= [];
    this.runs[at] = r;
    if (r.replica === this.first || this.others?.has(r.replica)) return;
    this.others ??= new Map();
    this.others.set(r.replica, this.others.size + 1);
  }

  /**
   * A replica table entry: a 32-character lowercase hex id as its 16 bytes, read straight from
   * its characters into the buffer (no cache: a table is written once per message), or any
   * other id as a string.
   */
  private tableEntry(id: ReplicaId, at: number): void {
    const r = this.runs?.[at];
    if (r) {
      this.byte(2);
      this.uint(r.replica === this.first ? 0 : this.others!.get(r.replica)!);
      this.uint(r.run);
      return;
    }
    if (id.length === 32) {
      this.ensure(17);
      const at = this.pos + 1;
      let i = 0;
      for (; i < 16; i++) {
        const hi = nibble(id.charCodeAt(2 * i));
        const lo = nibble(id.charCodeAt(2 * i + 1));
        if (hi < 0 || lo < 0) break;
        this.buf[at + i] = (hi << 4) | lo;
      }
      if (i === 16) {
        this.buf[this.pos] = 0;
        this.pos += 17;
        return;
      }
    }
    this.byte(1);
    this.string(id);
  }

  /**
   * The whole message — header, replica table, body — after the raw prefix if there is one. The
   * header is written after the body, then moved into the room left before the body (and the
   * prefix moved up to it), so the message is one run of this encoder's buffer and comes out in
   * one copy; a header too big for the room is put in order while copying out. The encoder is spent.
   */
  finish(version: number, kind: number): Uint8Array {
    const bodyEnd = this.pos;
    this.byte(version);
    this.byte(kind);
    // A run id's replica is in the table too, for it to point at.
    if (this.first !== undefined) {
      this.noteRun(this.first, 0);
      // Replicas added on the way are visited too, and add nothing: they hold no NUL.
      this.others?.forEach((at, id) => {
        this.noteRun(id, at);
      });
    }
    this.uint(this.replicaCount);
    if (this.first !== undefined) this.tableEntry(this.first, 0);
    this.others?.forEach((at, id) => {
      this.tableEntry(id, at);
    });
    const buf = this.buf;
    const header = this.pos - bodyEnd;
    const prefix = this.prefixEnd - ROOM;
    let out: Uint8Array;
    if (header <= ROOM) {
      const start = this.bodyStart - header;
      copy(buf, bodyEnd, this.pos, buf, start);
      if (prefix > 0) buf.copyWithin(start - prefix, ROOM, this.prefixEnd);
      out = fills(buf, bodyEnd - start + prefix)
        ? buf.subarray(start - prefix, bodyEnd)
        : buf.slice(start - prefix, bodyEnd);
    } else {
      out = new Uint8Array(prefix + header + bodyEnd - this.bodyStart);
      copy(buf, ROOM, this.prefixEnd, out, 0);
      copy(buf, bodyEnd, this.pos, out, prefix);
      copy(buf, this.bodyStart, bodyEnd, out, prefix + header);
    }
    this.release();
    return out;
  }
}

/**
 * Whether a message of `length` bytes is returned as a view of the buffer it was written in
 * rather than a copy: a large one that fills it (a snapshot chunk, written after `reserve`). Its
 * copy was a second buffer of megabytes, and fresh memory is what a large copy costs most — on
 * this project's bench machine a sync server spent a sixth of a 100,000-product snapshot's build
 * in that copy (profiled). A small message is copied: a view would keep its spare room alive.
 */
function fills(buf: Uint8Array, length: number): boolean {
  return length >= 64 * 1024 && length >= buf.length - (buf.length >> 3);
}

/**
 * Copies `src[from, to)` to `dst` at `at`. Most pieces of a small message are a few bytes, where
 * a loop beats `set` on a `subarray` (each subarray is an object, made through a species lookup).
 */
function copy(src: Uint8Array, from: number, to: number, dst: Uint8Array, at: number): void {
  if (to - from > 64) dst.set(src.subarray(from, to), at);
  else for (let i = from; i < to; i++) dst[at + i - from] = src[i]!;
}

/** How many bytes `writeUint` takes for `n`. */
export function uintWidth(n: number): number {
  let width = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    width++;
  }
  return width;
}

/**
 * Writes `n` as `Encoder.uint` does into `buf` at `at` (which has room for `uintWidth(n)`
 * bytes); returns where it ended. For a byte layout that needs lengths and no encoder
 * (StoredDocument's).
 */
export function writeUint(buf: Uint8Array, at: number, n: number): number {
  while (n >= 0x80) {
    buf[at++] = (n % 0x80) | 0x80;
    n = Math.floor(n / 0x80);
  }
  buf[at++] = n;
  return at;
}
