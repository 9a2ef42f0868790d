// Resumable uploads with tus-js-client (SPEC.md, "Resumable uploads"), loaded only when the
// server answers OPTIONS /api/media/uploads/ with Tus-Resumable. The fingerprint of an
// unfinished upload is kept in localStorage, so the same file dropped again after a reload or a
// lost connection resumes from the server's offset instead of starting over.
import { Upload } from "tus-js-client";

const CHUNK_SIZE = 8 * 1024 * 1024;
// Past two minutes in all: a connection that died without closing holds its upload on the
// server until the gateway gives up on it (120 s without a byte); until then a resume is a 409.
const RETRY_DELAYS_MS = [0, 1000, 3000, 5000, 10000, 20000, 30000, 60000, 60000];

export function startResumableUpload(api, file, fields, { onProgress }) {
  let upload;
  let mediaId = null;
  let cancelled = false;
  // Set when the person signs out: the termination goes with their last token, once, and never
  // with a token refreshed meanwhile (perhaps the next person's).
  let pinnedToken = null;
  const finished = new Promise((resolve, reject) => {
    upload = new Upload(file, {
      endpoint: "/api/media/uploads/",
      chunkSize: CHUNK_SIZE,
      retryDelays: RETRY_DELAYS_MS,
      storeFingerprintForResuming: true,
      removeFingerprintOnSuccess: true,
      metadata: Object.fromEntries(
        Object.entries({ filename: file.name, ...fields }).filter(([, value]) => value),
      ),
      async onBeforeRequest(request) {
        request.setHeader("Authorization", `Bearer ${pinnedToken ?? (await api.ensureFreshAccess())}`);
      },
      onAfterResponse(_request, response) {
        mediaId = response.getHeader("Media-Id") || mediaId;
      },
      onShouldRetry(error, _attempt, options) {
        if (pinnedToken !== null) return false;
        const status = error.originalResponse?.getStatus();
        // 401: the next attempt's onBeforeRequest refreshes (tus-js-client reads this answer at
        // once: a promise would count as yes whatever it resolved to); other 4xx are final.
        if (status === 401) return true;
        if (status && status >= 400 && status < 500 && status !== 409 && status !== 423) return false;
        return options.retryDelays !== null;
      },
      onProgress,
      onError(error) {
        const body = safeJson(error.originalResponse?.getBody());
        reject(Object.assign(new Error(body?.message || "The upload failed."), { body }));
      },
      async onSuccess() {
        try {
          resolve(mediaId ? await api.getMedia(mediaId) : null);
        } catch (error) {
          reject(error);
        }
      },
    });
    upload.findPreviousUploads().then((previous) => {
      if (cancelled) return;
      if (previous.length) upload.resumeFromPreviousUpload(previous[0]);
      upload.start();
    }, reject);
  });
  return {
    finished,
    pause: () => upload.abort(),
    resume: () => upload.start(),
    // Stops the upload and, unless `terminate` is false, deletes its partial bytes on the server
    // (with `token` when given: see pinnedToken). The promise rejects when the deletion fails.
    cancel: ({ token = null, terminate = true } = {}) => {
      cancelled = true;
      pinnedToken = token;
      return upload.abort(terminate);
    },
  };
}

function safeJson(text) {
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}
