export type { CausalType } from './Causal.js';
export { CausalContext } from './CausalContext.js';
export { CausalRegister } from './CausalRegister.js';
export { type Crdt, type CrdtType, merge, typeOf } from './Crdt.js';
export {
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
export { MAX_DEPTH } from './codec/Decoder.js';
export { compareDots, type Dot } from './Dot.js';
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
export { type Json, jsonEqual } from './Json.js';
export { type Element, List } from './List.js';
export { LWWMap } from './LWWMap.js';
export { LWWRegister } from './LWWRegister.js';
export { MVRegister } from './MVRegister.js';
export { ORMap } from './ORMap.js';
export { ORSet } from './ORSet.js';
export { PNCounter } from './PNCounter.js';
export { newReplicaId, type ReplicaId, replicaId } from './ReplicaId.js';
export type { Anchor } from './sequence/Sequence.js';
export { Text } from './Text.js';
export { compareTimestamps, type Timestamp } from './Timestamp.js';
export { TwoPhaseSet } from './TwoPhaseSet.js';
export { type Causality, VersionVector } from './VersionVector.js';
