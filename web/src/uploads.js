// The upload queue behind UploadQueue: what is waiting, sending, done or refused, and how each
// file is sent — resumable (tus, SPEC.md "Resumable uploads") when the server offers it, else
// one multipart POST with progress. Files the server already has are skipped when it offers
// `bulk-check`. No component logic here: the queue calls `onChange` with its items.
import { ApiError } from "./api.js";

const EXTENSION_TYPES = {
  image: ["jpg", "jpeg", "png", "gif", "webp", "heic", "heif", "avif", "bmp", "tif", "tiff"],
  video: ["mp4", "m4v", "mov", "webm", "mkv", "avi", "3gp"],
  audio: ["mp3", "m4a", "aac", "flac", "ogg", "oga", "opus", "wav"],
};
// Hashing reads the whole file into memory: larger files go up unchecked.
const MAX_HASHED_BYTES = 256 * 1024 * 1024;
const CONCURRENT_UPLOADS = 2;
// tus-js-client keeps an unfinished upload's URL under keys with this prefix (its
// WebStorageUrlStorage), so the same file resumes after a reload.
const RESUMABLE_KEY_PREFIX = "tus::";

export function mediaTypeOf(file) {
  const major = (file.type || "").split("/")[0];
  if (major in EXTENSION_TYPES) return major;
  const extension = (file.name.split(".").pop() || "").toLowerCase();
  return Object.keys(EXTENSION_TYPES).find((type) => EXTENSION_TYPES[type].includes(extension)) || null;
}

export async function sha256Hex(file) {
  const digest = await crypto.subtle.digest("SHA-256", await file.arrayBuffer());
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

let nextId = 1;

export function createUploadQueue(api, { onChange, onUploaded, loadResumable = () => import("./tus-upload.js") }) {
  const items = [];
  let resumable = null; // the module of tus-upload.js once the server is known to speak tus
  let stopped = false; // signed out: nothing more is sent, with anyone's token

  const emit = () => onChange([...items]);
  const update = (item, changes) => {
    Object.assign(item, changes);
    emit();
  };

  async function strategy() {
    if (resumable === null) {
      resumable = (await api.supportsResumableUploads()) ? await loadResumable() : false;
    }
    return resumable;
  }

  async function skipDuplicates(batch) {
    const hashable = batch.filter((item) => item.file.size <= MAX_HASHED_BYTES);
    if (!hashable.length || !globalThis.crypto?.subtle || !(await api.supportsDuplicateCheck())) return;
    for (const item of hashable) item.checksum = await sha256Hex(item.file);
    const { existing = {} } = await api.bulkCheck(hashable.map((item) => item.checksum));
    for (const item of hashable) {
      if (existing[item.checksum]) {
        update(item, { status: "skipped", message: "Already in your library: skipped." });
      }
    }
  }

  async function send(item) {
    update(item, { status: "uploading", message: "" });
    const fields = { name: item.file.name, type: item.type, collection: item.collection };
    const onProgress = (loaded, total) => update(item, { loaded, total });
    try {
      const tus = await strategy();
      if (stopped) return;
      const media = tus
        ? await (item.handle = tus.startResumableUpload(api, item.file, fields, { onProgress }))
            .finished
        : await api.uploadMultipart(item.file, fields, {
            onProgress,
            signal: (item.controller = new AbortController()).signal,
          });
      update(item, { status: "done", loaded: item.file.size, media });
      onUploaded?.(media);
    } catch (error) {
      if (item.status === "paused" || item.status === "cancelled") return;
      update(item, {
        status: "failed",
        message: error instanceof ApiError || error.body ? error.message : "The upload failed.",
        // A refusal (4xx) is the server's final word on this file; a lost connection is not.
        retryable: !(error.status >= 400 && error.status < 500),
      });
    }
  }

  // Cancels `item` unless it has ended already; what it was sending is stopped (stopSending,
  // with `options`). Resolves once that is done.
  function cancelItem(item, message, options) {
    if (!["waiting", "checking", "uploading", "paused"].includes(item.status)) return Promise.resolve();
    const wasSending = item.status === "uploading" || item.status === "paused";
    update(item, { status: "cancelled", message });
    return wasSending ? stopSending(item, options) : Promise.resolve();
  }

  async function pump() {
    while (!stopped && items.filter((item) => item.status === "uploading").length < CONCURRENT_UPLOADS) {
      const item = items.find((candidate) => candidate.status === "waiting");
      if (!item) return;
      send(item).finally(pump);
    }
  }

  return {
    get items() {
      return [...items];
    },
    async add(files, { collection } = {}) {
      const batch = [...files].map((file) => {
        const type = mediaTypeOf(file);
        return {
          id: nextId++,
          file,
          name: file.name,
          type,
          collection,
          loaded: 0,
          total: file.size,
          status: type ? "waiting" : "failed",
          message: type ? "" : "Only photos, videos and audio can be uploaded.",
        };
      });
      // Held as "checking" (the pump skips them) until the duplicate check has answered.
      const candidates = batch.filter((item) => item.status === "waiting");
      for (const item of candidates) item.status = "checking";
      items.push(...batch);
      emit();
      try {
        await skipDuplicates(candidates);
      } catch {
        // No answer from the check: every file goes up, the server stays the judge.
      }
      for (const item of candidates) if (item.status === "checking") item.status = "waiting";
      emit();
      pump();
    },
    canPause: () => Boolean(resumable),
    pause(id) {
      const item = items.find((candidate) => candidate.id === id);
      if (item?.status !== "uploading" || !item.handle) return;
      update(item, { status: "paused" });
      item.handle.pause();
    },
    resume(id) {
      const item = items.find((candidate) => candidate.id === id);
      if (item?.status !== "paused") return;
      update(item, { status: "uploading" });
      item.handle.resume();
    },
    cancel(id) {
      const item = items.find((candidate) => candidate.id === id);
      if (item) cancelItem(item, "Cancelled.");
    },
    retry(id) {
      const item = items.find((candidate) => candidate.id === id);
      if (item?.status !== "failed" || !item.retryable) return;
      update(item, { status: "waiting", loaded: 0, message: "" });
      pump();
    },
    // The session ends: every file not yet sent is cancelled, those being sent are stopped, and
    // the resumable uploads' URLs this browser kept are forgotten. Otherwise the queue went on
    // with the next user's token, putting one person's files in another's library. `token` is
    // the person's access token while it still works (a sign-out here, before the server ends
    // the session): their partial uploads are deleted with it. Without one (the session ended
    // in another tab, or expired) they are only stopped, and the server drops them when they
    // expire. Resolves once every deletion has been answered (or has failed).
    stop({ token = null } = {}) {
      stopped = true;
      const options = { token, terminate: token !== null };
      const stopping = items.map((item) => cancelItem(item, "Cancelled: you signed out.", options));
      forgetResumableUploads();
      return Promise.all(stopping);
    },
    clearFinished() {
      const keep = items.filter((item) => !["done", "skipped", "cancelled"].includes(item.status));
      items.splice(0, items.length, ...keep);
      emit();
    },
  };
}

// Stops what `item` is sending (`options` as tus-upload.js's cancel takes them). Never rejects:
// a partial upload the server could not be asked to delete is dropped there when it expires.
function stopSending(item, options) {
  if (!item.handle) {
    item.controller?.abort();
    return Promise.resolve();
  }
  return Promise.resolve()
    .then(() => item.handle.cancel(options))
    .catch(() => {});
}

function forgetResumableUploads(storage = globalThis.localStorage) {
  if (!storage) return;
  const keys = Array.from({ length: storage.length }, (_, index) => storage.key(index));
  for (const key of keys) if (key?.startsWith(RESUMABLE_KEY_PREFIX)) storage.removeItem(key);
}

// Overall progress of the items still counting (not refused, not skipped).
export function overallProgress(items) {
  const counted = items.filter((item) => ["waiting", "checking", "uploading", "paused", "done"].includes(item.status));
  const total = counted.reduce((sum, item) => sum + (item.total || 0), 0);
  const loaded = counted.reduce((sum, item) => sum + Math.min(item.loaded || 0, item.total || 0), 0);
  return { loaded, total, fraction: total ? loaded / total : 0 };
}
