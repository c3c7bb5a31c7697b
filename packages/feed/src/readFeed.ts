import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { CsvError, parse } from 'csv-parse';
import { FeedError } from './FeedError.js';
import { type FeedRecord, feedRecord } from './FeedRecord.js';

export type FeedFormat = 'jsonl' | 'csv';

/** The format a file's name says: `.jsonl`/`.ndjson` (JSON Lines) or `.csv` (a header row, then a product a row). */
export function formatOf(path: string): FeedFormat {
  if (/\.(jsonl|ndjson)$/i.test(path)) return 'jsonl';
  if (/\.csv$/i.test(path)) return 'csv';
  throw new FeedError('BAD_FORMAT', `${path}: a feed is .jsonl, .ndjson or .csv`);
}

/**
 * The records of a feed file, read as a stream (a 100,000-product feed is never held whole). A
 * CSV's values are typed the way csv-parse casts them (numbers, and `true`/`false`); an empty
 * cell is no field. A line that is no record is `BAD_RECORD`, with its line number.
 */
export function readFeed(path: string, format: FeedFormat = formatOf(path)): AsyncGenerator<FeedRecord> {
  return readFeedStream(createReadStream(path), format, path);
}

/**
 * The records of a feed arriving as a byte stream (an HTTP request's body, say), as `readFeed`
 * reads a file; `name` is what errors call it.
 */
export async function* readFeedStream(
  input: Readable,
  format: FeedFormat,
  name: string,
): AsyncGenerator<FeedRecord> {
  if (format === 'jsonl') {
    let line = 0;
    for await (const text of createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })) {
      line++;
      if (text.trim() === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        throw new FeedError('BAD_RECORD', `${name}:${line}: not JSON`);
      }
      yield feedRecord(value, `${name}:${line}`);
    }
    return;
  }
  const rows = input.pipe(
    parse({ columns: true, cast: castCell, skip_empty_lines: true, bom: true, trim: true }),
  );
  // A pipe does not pass its source's failure on (an upload cut, say): the rows end with it.
  input.once('error', (e) => rows.destroy(e));
  let line = 1;
  try {
    for await (const row of rows as AsyncIterable<Record<string, unknown>>) {
      line++;
      const product: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(row)) if (v !== '' && v !== undefined) product[k] = v;
      yield feedRecord(product, `${name}:${line}`);
    }
  } catch (e) {
    // csv-parse's own errors (a row of the wrong width, say) are the feed's; others pass.
    if (!(e instanceof CsvError)) throw e;
    // The parser reads ahead of the rows taken: its own count says where it stopped.
    const at = typeof e.lines === 'number' ? e.lines : line + 1;
    throw new FeedError('BAD_RECORD', `${name}:${at}: ${e.message}`);
  }
}

/** A CSV cell: a number or a boolean where it reads as one, the id always a string. */
function castCell(value: string, context: { column: number | string }): unknown {
  if (context.column === '_id') return value;
  if (value === 'true') return true;
  if (value === 'false') return false;
  if (value !== '' && /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/.test(value)) return Number(value);
  return value;
}
