// The page's service worker: a store's device opens the store app with the server away (seed
// 000: the server "busy (or offline which happened often)"). Installing it caches every file of
// the build — listed by Vite's manifest, including the labels chunk and fonts the first print
// needs — so a reload with no network still opens the page, and the data is in IndexedDB.
// Pages are fetched from the network first (a new build is seen at once), and from the cache
// when it cannot answer; the build's files (content-hashed, immutable) from the cache first.
const CACHE = 'concord-page';

self.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const manifest = await (await fetch('/asset-manifest.json', { cache: 'no-store' })).json();
      const files = new Set(['/', '/index.html']);
      for (const chunk of Object.values(manifest)) {
        files.add(`/${chunk.file}`);
        for (const f of [...(chunk.css ?? []), ...(chunk.assets ?? [])]) files.add(`/${f}`);
      }
      const cache = await caches.open(CACHE);
      await cache.addAll([...files]);
      // Files of earlier builds go.
      for (const request of await cache.keys())
        if (!files.has(new URL(request.url).pathname)) await cache.delete(request);
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== location.origin) return;
  if (url.pathname.startsWith('/api/') || url.pathname === '/sync') return;
  if (event.request.mode === 'navigate')
    event.respondWith(
      fetch(event.request).catch(
        async () => (await caches.match(url.pathname)) ?? caches.match('/index.html'),
      ),
    );
  else if (url.pathname.startsWith('/assets/'))
    event.respondWith(caches.match(event.request).then((hit) => hit ?? fetch(event.request)));
});
