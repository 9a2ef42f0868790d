// What a first visit downloads: the JS and CSS of web/dist, raw and compressed (gzip, as the
// gateway sends them; brotli for comparison). `npm run size` after `npm run build`.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, gzipSync } from "node:zlib";

const assets = new URL("../dist/assets/", import.meta.url).pathname;
const html = readFileSync(new URL("../dist/index.html", import.meta.url), "utf8");
const kib = (bytes) => (bytes / 1024).toFixed(1);
let firstLoad = { raw: 0, gzip: 0 };

console.log("file\traw KiB\tgzip KiB\tbrotli KiB\tloaded");
for (const name of readdirSync(assets).sort()) {
  const bytes = readFileSync(join(assets, name));
  const gzip = gzipSync(bytes, { level: 6 }).length;
  const brotli = brotliCompressSync(bytes).length;
  // What index.html names is loaded at once; the rest (tus-js-client) only when needed.
  const atOnce = html.includes(name);
  if (atOnce) {
    firstLoad = { raw: firstLoad.raw + bytes.length, gzip: firstLoad.gzip + gzip };
  }
  console.log(`${name}\t${kib(bytes.length)}\t${kib(gzip)}\t${kib(brotli)}\t${atOnce ? "at once" : "on demand"}`);
}
console.log(`first load (JS + CSS)\t${kib(firstLoad.raw)}\t${kib(firstLoad.gzip)}`);
