/**
 * `@concord/crdt/internal`: the codec's building blocks and helpers that Concord's other
 * packages are built from. Not a stable API: it changes with them, without notice.
 */
export { Causal } from './Causal.js';
export { CRDT_TYPES } from './codec/codec.js';
export { Decoder } from './codec/Decoder.js';
export { Encoder, uintWidth, writeUint } from './codec/Encoder.js';
export { Interner } from './codec/Interner.js';
export { readDot, writeDot } from './Dot.js';
export { assertJson, deepFreeze, isJsonScalar, jsonKey } from './Json.js';
export { isStorableText, runReplicaId } from './ReplicaId.js';
export { readTimestamp, writeTimestamp } from './Timestamp.js';
