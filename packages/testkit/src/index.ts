/**
 * `@concord/testkit`: what Concord's tests and benchmarks share — seeded randomness, byte
 * mutation for fuzzing, the editing traces, replica comparison and checks for the machine's
 * services. Sync
 * simulation (virtual clock, faulty links) is at `@concord/testkit/simulation`. Not published.
 */

export { type ConcordDoc, concordText } from './concordText.js';
export { decodeError } from './decodeError.js';
export { LinkProxy } from './LinkProxy.js';
export { mutate } from './mutate.js';
export { pdfText, strokeColours } from './pdfText.js';
export { concordServe, freePorts, kill9, listening, ownNatsServer } from './processes.js';
export { type Rng, SeededRng, StreamRng, seeds } from './Rng.js';
export { exampleModule, readmeExamples, runExample } from './readme.js';
export { type ReplicaDocument, replicaContents } from './replicaContents.js';
export {
  CHROMIUM,
  MissingService,
  NATS_URL,
  POSTGRES_URL,
  requireChromium,
  requireNats,
  requirePostgres,
} from './services.js';
export {
  CONCURRENT_TRACES,
  type ConcurrentTrace,
  loadTrace,
  type Patch,
  replayConcurrent,
  replaySequential,
  SEQUENTIAL_TRACES,
  type SequentialTrace,
  type TextReplica,
  TRACE_DIR,
} from './traces.js';
export { until } from './until.js';
