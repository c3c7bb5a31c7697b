export {
  type Authenticate,
  allowEverything,
  type Grant,
  type JwtOptions,
  jwtAuthenticator,
  mayWrite,
  type Principal,
  scope,
} from './Auth.js';
export { seedDemo } from './demo.js';
export { HttpServer, type HttpServerOptions } from './HttpServer.js';
export { Metrics } from './Metrics.js';
export { type Peer, Session } from './Session.js';
export { type Delivery, SubscriptionFilter, type Transition } from './SubscriptionFilter.js';
export {
  DEFAULT_LIMITS,
  type Limits,
  type Log,
  type Proposal,
  SyncServer,
  type SyncServerOptions,
  type Validator,
  type Verdict,
} from './SyncServer.js';
