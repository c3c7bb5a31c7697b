export { Causal, type CausalType } from './Causal.js';
export { CausalContext } from './CausalContext.js';
export { CausalRegister } from './CausalRegister.js';
export { type Crdt, type CrdtType, merge, typeOf } from './Crdt.js';
export {
  CRDT_TYPES,
  decodeCausalContext,
  decodeCrdt,
  decodeTimestamp,
  decodeVersionVector,
  encodeCausalContext,
  encodeCrdt,
  encodeTimestamp,
  encodeVersionVector,
  FORMAT_VERSION,
} from './codec/codec.js';
export { Decoder, MAX_DEPTH } from './codec/Decoder.js';
export { Encoder, uintWidth, writeUint } from './codec/Encoder.js';
export { compareDots, type Dot, readDot, writeDot } from './Dot.js';
export { Embedded } from './Embedded.js';
export {
  ClockDriftError,
  DecodeError,
  type DecodeErrorCode,
  type InvalidArgumentCode,
  InvalidArgumentError,
} from './errors.js';
export { Flag } from './Flag.js';
export { GCounter } from './GCounter.js';
export { GSet } from './GSet.js';
export { type ClockOptions, DEFAULT_MAX_DRIFT_MS, HybridLogicalClock } from './HybridLogicalClock.js';
export { assertJson, deepFreeze, isJsonScalar, type Json, jsonEqual, jsonKey } from './Json.js';
export { type Element, List } from './List.js';
export { LWWMap } from './LWWMap.js';
export { LWWRegister } from './LWWRegister.js';
export { MVRegister } from './MVRegister.js';
export { ORMap } from './ORMap.js';
export { ORSet } from './ORSet.js';
export { PNCounter } from './PNCounter.js';
export { isStorableText, newReplicaId, type ReplicaId, replicaId } from './ReplicaId.js';
export type { Anchor } from './sequence/Sequence.js';
export { Text } from './Text.js';
export { compareTimestamps, readTimestamp, type Timestamp, writeTimestamp } from './Timestamp.js';
export { TwoPhaseSet } from './TwoPhaseSet.js';
export { type Causality, VersionVector } from './VersionVector.js';
