// The service worker: on install it caches the page, the SDK, the wasm builds and the model; afterwards every
// request for them is answered from the cache, so the page works offline. Change CACHE when any file changes:
// the new worker fills a new cache and deletes the old one.
const CACHE = "qwasm-classifier-v2"; // v2: + the lite build
const FILES = [
  "./", "index.html", "app.js",
  "qwasm/sdk/browser.js", "qwasm/qwasm.lite.wasm", "qwasm/qwasm.relaxed.wasm", "qwasm/qwasm.simd.wasm", "qwasm/qwasm.nosimd.wasm",
  "model.qwm",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(FILES)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) if (key !== CACHE) await caches.delete(key);
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (event) => {
  if (event.request.method !== "GET") return;
  event.respondWith(caches.match(event.request, { ignoreSearch: true }).then((hit) => hit ?? fetch(event.request)));
});
