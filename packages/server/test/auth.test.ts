import { Database, type SyncErrorEvent } from '@concord/db';
import { core } from '@concord/db/internal';
import { type Grant, HttpServer, jwtAuthenticator, SyncServer } from '@concord/server';
import { SimClock } from '@concord/testkit/simulation';
import { exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readScope } from '../src/Auth.js';
import { until } from './support.js';

const SECRET = 'auth-matrix-secret-of-enough-length';
const sign = (grants: Grant[], secret = SECRET) =>
  new SignJWT({ grants })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('t')
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(secret));

/** Each token's grants; `null` for tokens that must not verify at all. */
const TOKENS: Record<string, Grant[] | null> = {
  none: null,
  forged: null,
  reader: [{ collection: 'products', read: true }],
  writer: [{ collection: '*', read: true, write: true }],
  store1: [{ collection: 'products', read: true, write: true, where: { storeId: 1 } }],
  ordersOnly: [{ collection: 'orders', read: true, write: true }],
};
const COLLECTIONS = ['products', 'orders'];

/** What the grants say a token may do on a collection's document of store 1 or store 2. */
function allowed(name: string, collection: string, right: 'read' | 'write', storeId: number): boolean {
  const grants = TOKENS[name];
  if (!grants) return false;
  return grants.some(
    (g) =>
      (g.collection === '*' || g.collection === collection) &&
      g[right] === true &&
      (!g.where || g.where.storeId === storeId),
  );
}

let http: HttpServer;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  const db = await Database.open();
  http = await HttpServer.listen({
    sync: new SyncServer({ db, authenticate: jwtAuthenticator({ secret: SECRET }) }),
    port: 0,
  });
  for (const c of COLLECTIONS)
    await db.collection(c).upsertMany([
      { _id: 's1', storeId: 1, v: 0 },
      { _id: 's2', storeId: 2, v: 0 },
    ]);
  for (const [name, grants] of Object.entries(TOKENS))
    tokens[name] = grants
      ? await sign(grants)
      : name === 'forged'
        ? await sign(TOKENS.writer!, 'another-secret-of-enough-length!!')
        : '';
});
afterAll(async () => {
  await http.close();
  await http.sync.db.close();
});

const api = (path: string, token: string, init: RequestInit = {}) =>
  fetch(`${http.url}/api/collections/${path}`, {
    ...init,
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });

describe('JWTs signed with a private key', () => {
  it('an ES256 token verifies against the public key; one signed with another key does not', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const other = await generateKeyPair('ES256');
    const authenticate = jwtAuthenticator({ publicKey: await exportSPKI(publicKey) });
    const signed = (key: CryptoKey) =>
      new SignJWT({ grants: [{ collection: 'products', read: true }] })
        .setProtectedHeader({ alg: 'ES256' })
        .setSubject('store-7')
        .sign(key);
    expect(await authenticate(await signed(privateKey))).toMatchObject({
      subject: 'store-7',
      grants: [{ collection: 'products', read: true, write: false }],
    });
    await expect(authenticate(await signed(other.privateKey))).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
    });
    await expect(authenticate('not.a.jwt')).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
  });
});

describe('token expiry', () => {
  it('a session ends when its token expires; a client with a token function reconnects with a fresh one', async () => {
    let issued = 0;
    const fresh = () => {
      issued++;
      return new SignJWT({ grants: [{ collection: '*', read: true, write: true }] })
        .setProtectedHeader({ alg: 'HS256' })
        .setExpirationTime(Math.floor(Date.now() / 1000) + 1)
        .sign(new TextEncoder().encode(SECRET));
    };
    const db = await Database.open();
    const statuses: string[] = [];
    const sync = db.sync(`ws://127.0.0.1:${http.port}/sync`, {
      token: fresh,
      subscriptions: [{ collection: 'scratch' }],
      backoff: { minMs: 5, maxMs: 20 },
    });
    sync.on('status', (s) => statuses.push(s));
    await sync.synced();
    await until(() => issued >= 2 && sync.status === 'live', 'a reconnect with a fresh token', 5000);
    expect(statuses).toContain('offline');
    await db.collection('scratch').upsert({ _id: 'after-expiry', v: 1 });
    await sync.synced();
    expect(core(http.sync.db).documentValue('scratch', 'after-expiry')).toMatchObject({ v: 1 });
    await sync.close();
    await db.close();
  });
});

describe('auth matrix: token × collection × read / write / subscribe / push / REST', () => {
  for (const name of Object.keys(TOKENS)) {
    for (const collection of COLLECTIONS) {
      it(`${name} on ${collection}`, async () => {
        const verified = TOKENS[name] !== null;
        // REST reads: a document outside the scope is not found; no read right at all is 403.
        for (const storeId of [1, 2]) {
          const res = await api(`${collection}/s${storeId}`, tokens[name]!);
          const expected = !verified
            ? 401
            : allowed(name, collection, 'read', storeId)
              ? 200
              : allowed(name, collection, 'read', 1) || allowed(name, collection, 'read', 2)
                ? 404
                : 403;
          expect(res.status, `GET s${storeId}`).toBe(expected);
        }
        // REST writes.
        for (const storeId of [1, 2]) {
          const res = await api(`${collection}/s${storeId}`, tokens[name]!, {
            method: 'PATCH',
            body: JSON.stringify({ rest: name }),
          });
          expect(res.status, `PATCH s${storeId}`).toBe(
            !verified ? 401 : allowed(name, collection, 'write', storeId) ? 200 : 403,
          );
        }
        // Subscribe, then push one change to each store's document.
        const db = await Database.open();
        const errors: SyncErrorEvent[] = [];
        // The client's timers on a simulated clock: a reconnect it would schedule, the clock runs.
        const clock = new SimClock();
        const sync = db.sync(`ws://127.0.0.1:${http.port}/sync`, {
          token: tokens[name]!,
          subscriptions: [{ collection }],
          backoff: { minMs: 5, maxMs: 20 },
          timers: clock,
        });
        sync.on('error', (e) => errors.push(e));
        const mayRead = allowed(name, collection, 'read', 1) || allowed(name, collection, 'read', 2);
        if (!verified || !mayRead) {
          await until(() => sync.status === 'failed' && errors.length > 0, 'refusal');
          expect(errors[0]!.code).toBe(!verified ? 'UNAUTHORIZED' : 'FORBIDDEN');
          expect(sync.lastError?.code).toBe(errors[0]!.code);
          await expect(sync.synced()).rejects.toMatchObject({ code: errors[0]!.code });
          // No reconnect loop on a refused token: a minute of backoff time passes, it stays failed.
          expect(await clock.run(() => sync.status !== 'failed', 60_000)).toBe(false);
        } else {
          await sync.synced();
          const ids = (await db.collection(collection).find()).map((d) => d._id).sort();
          expect(ids).toEqual([1, 2].filter((s) => allowed(name, collection, 'read', s)).map((s) => `s${s}`));
          const before = await Promise.all(
            [1, 2].map((s) => core(http.sync.db).documentValue(collection, `s${s}`)),
          );
          for (const s of [1, 2])
            await db.collection(collection).upsert({ _id: `s${s}`, storeId: s, pushed: name });
          await sync.synced();
          for (const s of [1, 2]) {
            const doc = core(http.sync.db).documentValue(collection, `s${s}`);
            if (allowed(name, collection, 'write', s)) expect(doc?.pushed, `push s${s}`).toBe(name);
            else expect(doc, `push s${s} refused`).toEqual(before[s - 1]);
          }
          const refused = [1, 2].filter((s) => !allowed(name, collection, 'write', s)).length;
          await until(() => errors.filter((e) => e.code === 'FORBIDDEN').length === refused, 'rejections');
        }
        await sync.close();
        await db.close();
      });
    }
  }
});

describe('read scopes (who a snapshot chunk is served to)', () => {
  it('are equal for the same read grants in any order, and differ with any read grant', () => {
    const s1 = { collection: 'products', read: true, where: { stores: { $contains: 's1' } } };
    const own = { collection: 'printed', read: true, where: { store: 's1' } };
    const write = { collection: 'printed', write: true };
    expect(readScope({ subject: 'a', grants: [s1, own] })).toBe(
      readScope({ subject: 'b', grants: [own, write, s1] }),
    );
    expect(readScope({ subject: 'a', grants: [s1] })).not.toBe(
      readScope({ subject: 'a', grants: [s1, own] }),
    );
    expect(readScope({ subject: 'a', grants: [s1] })).not.toBe(
      readScope({ subject: 'a', grants: [{ ...s1, where: { stores: { $contains: 's2' } } }] }),
    );
  });
});
