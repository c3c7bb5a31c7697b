/**
 * The keys a replica keeps in its storage's meta, beside its documents and log (committed with
 * them, atomically). Sync subscriptions keep their cursors under keys of their own
 * (`subscriptionKey`).
 */
export const META_REPLICA = 'replica';
export const META_VERSION = 'version';
/** How far the log was compacted (`PeerExchange.compact`). */
export const META_HORIZON = 'horizon';
/** How far a sync server holds this replica's own changes (`ServerState.acknowledged`). */
export const META_ACKED = 'sync:acked';
/** Documents evicted while the outbox changed them, kept until acknowledged (`DeferredEvictions`). */
export const META_EVICTING = 'sync:evicting';
/** Before `docKey`: the state of a document evicted after this replica wrote to it (`CollectionState.evicted`). */
export const META_EVICTED = 'sync:evicted:';
/** Writes of an abandoned replica id still to be made again under the new one (`ServerState.fork`). */
export const META_FORKED = 'sync:forked';
