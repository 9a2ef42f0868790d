// The `placeholder` string of a media record (SPEC.md, "Derived media") as an image URL to
// paint before the thumbnail arrives. The server's format is ThumbHash (base64 of its bytes);
// a decoder for another format (BlurHash) would be one more entry in DECODERS.
import { thumbHashToDataURL } from "thumbhash";

const cache = new Map();
const CACHE_LIMIT = 3000;

const DECODERS = [
  {
    name: "thumbhash",
    accepts: (value) => /^[A-Za-z0-9+/]+={0,2}$/.test(value) && value.length <= 64,
    toDataURL: (value) => thumbHashToDataURL(base64ToBytes(value)),
  },
];

export function placeholderURL(value) {
  if (typeof value !== "string" || !value) return null;
  if (cache.has(value)) return cache.get(value);
  let url = null;
  const decoder = DECODERS.find((candidate) => candidate.accepts(value));
  try {
    url = decoder ? decoder.toDataURL(value) : null;
  } catch {
    url = null; // an unreadable placeholder only costs the blur, never the tile
  }
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value);
  cache.set(value, url);
  return url;
}

function base64ToBytes(value) {
  const binary = atob(value);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
