/**
 * `@concord/server`: the sync server (`SyncServer`, transport-agnostic; `HttpServer` for
 * WebSockets, REST and metrics), authentication and validation hooks. The `concord` command is
 * its bin. Internals for tests and extensions: `@concord/server/internal`.
 */
export {
  type Authenticate,
  allowEverything,
  type Grant,
  type JwtOptions,
  jwtAuthenticator,
  type Principal,
} from './Auth.js';
export { seedDemo } from './demo.js';
export { FeedIngest, type FeedIngestOptions } from './FeedIngest.js';
export { HttpServer, type HttpServerOptions } from './HttpServer.js';
export type { Peer } from './Session.js';
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
