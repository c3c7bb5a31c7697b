/**
 * `@concord/react`: React bindings for Concord — `<ConcordProvider db sync>`, live queries and
 * documents (`useQuery`, `useDocument`), and the sync link's state (`useSyncStatus`).
 */
export { ConcordProvider, useConcord, useDatabase } from './ConcordProvider.js';
export { useDocument, useQuery } from './useQuery.js';
export { type SyncState, useSyncStatus } from './useSyncStatus.js';
