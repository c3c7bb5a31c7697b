/** `@concord/cluster/jetstream`: replicated event sourcing through NATS JetStream (`@nats-io/*`). */
export { JetStreamReplication, type JetStreamReplicationOptions } from './JetStreamReplication.js';
