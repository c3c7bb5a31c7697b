import { createPublicKey, type KeyObject } from 'node:crypto';
import { type Database, type Doc, SyncError, type Where } from '@concord/db';
import { checkQuery, core, matches } from '@concord/db/internal';
import { type JWTPayload, jwtVerify } from 'jose';

const ALGORITHMS: Readonly<Record<string, string[]>> = {
  rsa: ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'],
  ec: ['ES256', 'ES384', 'ES512'],
  ed25519: ['EdDSA'],
};

/**
 * What a token allows on one collection (or every one, `*`): reading (subscribing and REST
 * reads) and writing, optionally narrowed to the documents a filter selects — e.g. a store's
 * device `{ collection: 'products', read: true, where: { storeId: 42 } }`.
 */
export interface Grant {
  readonly collection: string;
  readonly read?: boolean;
  readonly write?: boolean;
  readonly where?: Where;
}

/** Who is connected and what they may do. */
export interface Principal {
  readonly subject: string;
  readonly grants: readonly Grant[];
  /** When the credentials stop being valid (ms since the epoch): a session ends then. */
  readonly expiresAt?: number;
  /** An operator may see the server's own state: the connected clients and their replica ids (`/api/peers`). */
  readonly operator?: boolean;
}

/** Turns a connection's token into a principal; throws `SyncError('UNAUTHORIZED')` when it does not verify. */
export type Authenticate = (token: string) => Promise<Principal>;

/** Development mode: no token needed, everything granted. The server logs loudly when it runs this way. */
export const allowEverything: Authenticate = async () => ({
  subject: 'development',
  grants: [{ collection: '*', read: true, write: true }],
  operator: true,
});

export interface JwtOptions {
  /** An HS256 shared secret, or */
  readonly secret?: string;
  /** a PEM public key: RSA (RS256/PS256 tokens), EC (ES256/384/512) or Ed25519 (EdDSA). */
  readonly publicKey?: string;
  readonly issuer?: string;
  readonly audience?: string;
}

/**
 * Verifies JWTs (through `jose`) whose `grants` claim lists `Grant`s; `sub` names the principal
 * (the replica ids it syncs under are bound to it), and `operator: true` makes it an operator.
 * A token without valid grants, expired, or signed with another key is `UNAUTHORIZED`.
 */
export function jwtAuthenticator(options: JwtOptions): Authenticate {
  if (!options.secret && !options.publicKey)
    throw new Error('jwtAuthenticator needs a secret or a public key');
  const key = options.secret ? new TextEncoder().encode(options.secret) : createPublicKey(options.publicKey!);
  // The key's type decides the algorithms: a token cannot pick one the key was not made for.
  const algorithms = options.secret ? ['HS256'] : ALGORITHMS[(key as KeyObject).asymmetricKeyType ?? ''];
  if (!algorithms) throw new Error(`unsupported public key type ${(key as KeyObject).asymmetricKeyType}`);
  return async (token) => {
    if (!token) throw new SyncError('UNAUTHORIZED', 'a token is required');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, key, {
        algorithms,
        ...(options.issuer ? { issuer: options.issuer } : {}),
        ...(options.audience ? { audience: options.audience } : {}),
      }));
    } catch (e) {
      throw new SyncError('UNAUTHORIZED', `token rejected: ${(e as Error).message}`);
    }
    return {
      subject: payload.sub ?? '',
      grants: checkGrants(payload.grants),
      ...(payload.operator === true ? { operator: true } : {}),
      ...(payload.exp === undefined ? {} : { expiresAt: payload.exp * 1000 }),
    };
  };
}

function checkGrants(raw: unknown): Grant[] {
  if (!Array.isArray(raw)) throw new SyncError('UNAUTHORIZED', 'the token has no grants');
  return raw.map((g) => {
    if (typeof g !== 'object' || g === null || typeof g.collection !== 'string' || g.collection === '')
      throw new SyncError('UNAUTHORIZED', 'a grant without a collection');
    if (g.where !== undefined) {
      try {
        checkQuery({ where: g.where });
      } catch (e) {
        throw new SyncError('UNAUTHORIZED', `a grant's filter: ${(e as Error).message}`);
      }
    }
    return { collection: g.collection, read: g.read === true, write: g.write === true, where: g.where };
  });
}

/**
 * What the principal may read, as one string: two principals with equal ones read the same
 * documents (their read grants, in any order).
 */
export function readScope(p: Principal): string {
  const grants = p.grants.filter((g) => g.read).map((g) => JSON.stringify([g.collection, g.where ?? null]));
  return JSON.stringify(grants.sort());
}

/**
 * The documents of `collection` the principal may read or write: `null` for none, `undefined`
 * for all, or a filter (several narrowed grants are or-ed).
 */
export function scope(p: Principal, collection: string, right: 'read' | 'write'): Where | null | undefined {
  const filters: Where[] = [];
  for (const g of p.grants) {
    if ((g.collection !== '*' && g.collection !== collection) || !g[right]) continue;
    if (!g.where) return undefined;
    filters.push(g.where);
  }
  if (filters.length === 0) return null;
  return filters.length === 1 ? filters[0] : { $or: filters };
}

/** The document if it exists and is within the principal's `right`: one outside it is as good as absent. */
export function visibleDocument(
  db: Database,
  p: Principal,
  collection: string,
  id: string,
  right: 'read' | 'write',
): Doc | undefined {
  const allowed = scope(p, collection, right);
  if (allowed === null) return undefined;
  const doc = core(db).documentValue(collection, id);
  return doc && (allowed === undefined || matches(doc, allowed)) ? doc : undefined;
}

/** Whether a write that turns `before` into `after` stays within the principal's write scope (both sides). */
export function mayWrite(
  p: Principal,
  collection: string,
  before: Doc | undefined,
  after: Doc | undefined,
): boolean {
  const where = scope(p, collection, 'write');
  if (where === null) return false;
  if (where === undefined) return true;
  return (!before || matches(before, where)) && (!after || matches(after, where));
}

/** `a` and `b` both (either may be absent). */
export function both(a: Where | undefined, b: Where | undefined): Where | undefined {
  if (!a) return b;
  if (!b) return a;
  return { $and: [a, b] };
}
