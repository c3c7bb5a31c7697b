import { JetStreamApiCodes, type JetStreamManager, type StreamConfig } from '@nats-io/jetstream';

/** The stream a feed goes to when none is named (`--stream`): several feeds may share one NATS. */
export const DEFAULT_STREAM = 'catalogue';
/** How long JetStream remembers a message id: a feed published again within it is stored once. */
const DUPLICATE_WINDOW_MS = 24 * 60 * 60 * 1000;

/**
 * A feed's JetStream stream and its subjects: one subject per product, `<stream>.product.<id>`
 * (the id in base64url: subjects cannot hold `.`, `*`, `>` or spaces), keeping the product's
 * latest message only — a catalogue's stream holds its current state, as NATS's key-value
 * buckets do — `<stream>.dead.<sequence>`, the dead letters of its consumers (one subject
 * each, so the per-subject limit keeps them all), and `<stream>.index.>`, where publishers
 * leave what the stream holds per product (`ContentIndex`).
 */
export class FeedStream {
  constructor(readonly name: string = DEFAULT_STREAM) {
    if (!/^[A-Za-z0-9_-]+$/.test(name))
      throw new TypeError(`a stream name is letters, digits, - and _: ${name}`);
  }

  /** The subject of product `id`'s messages. */
  subject(id: string): string {
    return `${this.name}.product.${Buffer.from(id, 'utf8').toString('base64url')}`;
  }

  /** The product id a message subject names. */
  idOf(subject: string): string {
    const prefix = `${this.name}.product.`;
    return Buffer.from(subject.slice(prefix.length), 'base64url').toString('utf8');
  }

  /** The subjects dead letters are published to (`deadLetter(seq)`), with their reason. */
  get deadLetters(): string {
    return `${this.name}.dead.>`;
  }

  /** The dead-letter subject of the message stored at `seq`. */
  deadLetter(seq: number): string {
    return `${this.name}.dead.${seq}`;
  }

  /** Creates the stream, or brings an existing one's configuration to this one. */
  async ensure(jsm: JetStreamManager): Promise<void> {
    const config = {
      subjects: [`${this.name}.product.>`, this.deadLetters, `${this.name}.index.>`],
      max_msgs_per_subject: 1,
      duplicate_window: DUPLICATE_WINDOW_MS * 1_000_000,
    } satisfies Partial<StreamConfig>;
    try {
      await jsm.streams.info(this.name);
      await jsm.streams.update(this.name, config);
    } catch (e) {
      // By its API code, not its class: the manager may come from another copy of the client.
      if ((e as { code?: unknown }).code !== JetStreamApiCodes.StreamNotFound) throw e;
      await jsm.streams.add({ name: this.name, ...config });
    }
  }
}
