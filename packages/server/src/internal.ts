/**
 * `@concord/server/internal`: the server's parts below its API — sessions, partial replication's
 * per-document decisions, grant scopes, metrics, a deployment's change log. Not a stable API.
 */
export { mayWrite, scope } from './Auth.js';
export { ChangeLog } from './ChangeLog.js';
export { LogSnapshots } from './LogSnapshots.js';
export { Metrics } from './Metrics.js';
export { Session } from './Session.js';
export { type Delivery, SubscriptionFilter, type Transition } from './SubscriptionFilter.js';
