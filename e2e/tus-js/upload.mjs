// tus-js-client under node, as a phone app's upload would run: one process per attempt.
//
//   node upload.mjs --file PATH --token TOKEN --chunk-size N
//        (--endpoint URL [--metadata JSON] | --upload-url URL) [--stop-after-chunks K]
//
// With --endpoint it creates the upload; with --upload-url (all a new process knows) it asks the
// server for its offset (HEAD) and resumes from there. --stop-after-chunks K makes the process
// quit once K chunks have been sent, as an app killed part-way. It prints one JSON line:
// {"url", "offset", "done", "mediaId"}.
import { createReadStream } from "node:fs";
import { parseArgs } from "node:util";
import { Upload } from "tus-js-client";

const { values: args } = parseArgs({
  options: {
    file: { type: "string" },
    token: { type: "string" },
    "chunk-size": { type: "string" },
    endpoint: { type: "string" },
    "upload-url": { type: "string" },
    metadata: { type: "string", default: "{}" },
    "stop-after-chunks": { type: "string" },
  },
});

const stopAfter = args["stop-after-chunks"] ? Number(args["stop-after-chunks"]) : Infinity;
let chunks = 0;
let mediaId = null;
let stopped = false;

const result = await new Promise((resolve, reject) => {
  const upload = new Upload(createReadStream(args.file), {
    endpoint: args.endpoint,
    uploadUrl: args["upload-url"],
    chunkSize: Number(args["chunk-size"]),
    metadata: JSON.parse(args.metadata),
    headers: { Authorization: `Bearer ${args.token}` },
    retryDelays: [0, 500, 1000],
    onAfterResponse(_request, response) {
      mediaId = response.getHeader("Media-Id") || mediaId;
    },
    onChunkComplete(_chunkSize, bytesAccepted) {
      chunks += 1;
      if (chunks >= stopAfter && !stopped) {
        stopped = true;
        upload.abort().then(() => resolve({ url: upload.url, offset: bytesAccepted, done: false }));
      }
    },
    onSuccess() {
      if (!stopped) resolve({ url: upload.url, offset: upload._offset, done: true });
    },
    onError(error) {
      reject(error);
    },
  });
  upload.start();
});

process.stdout.write(`${JSON.stringify({ ...result, mediaId })}\n`);
