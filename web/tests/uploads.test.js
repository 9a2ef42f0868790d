import { describe, expect, it } from "vitest";
import { ApiError } from "../src/api.js";
import { createUploadQueue, mediaTypeOf, overallProgress, sha256Hex } from "../src/uploads.js";

const file = (name, type, text = "bytes") => new File([text], name, { type });

// An API whose upload endpoint answers from `answers` by file name; optional bulk-check.
function uploadApi({ existing = null, answers = {} } = {}) {
  const uploaded = [];
  return {
    uploaded,
    supportsResumableUploads: async () => false,
    supportsDuplicateCheck: async () => existing !== null,
    bulkCheck: async (checksums) => ({
      existing: Object.fromEntries(checksums.filter((c) => existing?.includes(c)).map((c) => [c, "media-id"])),
    }),
    uploadMultipart: async (upload, fields, { onProgress }) => {
      onProgress(upload.size / 2, upload.size);
      const answer = answers[upload.name];
      if (answer instanceof ApiError) throw answer;
      uploaded.push({ name: upload.name, fields });
      return { id: upload.name, ...fields };
    },
  };
}

async function settle(queue) {
  for (let i = 0; i < 50 && queue.items.some((item) => ["checking", "waiting", "uploading"].includes(item.status)); i++) {
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  return queue.items;
}

describe("the type of a file", () => {
  it("comes from its MIME type, then from its extension", () => {
    expect(mediaTypeOf(file("a.bin", "image/png"))).toBe("image");
    expect(mediaTypeOf(file("clip.MOV", ""))).toBe("video");
    expect(mediaTypeOf(file("song.flac", "application/octet-stream"))).toBe("audio");
    expect(mediaTypeOf(file("notes.txt", "text/plain"))).toBeNull();
  });
});

describe("the upload queue", () => {
  it("uploads each file with its name, type and the collection it was dropped on", async () => {
    const api = uploadApi();
    const uploaded = [];
    const queue = createUploadQueue(api, { onChange: () => {}, onUploaded: (media) => uploaded.push(media) });
    await queue.add([file("a.png", "image/png"), file("b.mp4", "video/mp4")], { collection: "c-1" });
    const items = await settle(queue);
    expect(items.map((item) => item.status)).toEqual(["done", "done"]);
    expect(api.uploaded.map((u) => u.fields)).toEqual([
      { name: "a.png", type: "image", collection: "c-1" },
      { name: "b.mp4", type: "video", collection: "c-1" },
    ]);
    expect(uploaded).toHaveLength(2);
  });

  it("shows the server's message for a refused file and goes on with the others", async () => {
    const refusal = new ApiError(400, { message: "The file is not a image: its content is text/plain." });
    const queue = createUploadQueue(uploadApi({ answers: { "fake.png": refusal } }), { onChange: () => {} });
    await queue.add([file("fake.png", "image/png"), file("real.png", "image/png")]);
    const [fake, real] = await settle(queue);
    expect(fake.status).toBe("failed");
    expect(fake.message).toBe("The file is not a image: its content is text/plain.");
    expect(real.status).toBe("done");
    queue.retry(fake.id); // the server's final word: sending it again would change nothing
    expect(queue.items[0].status).toBe("failed");
  });

  it("refuses a file that is no photo, video or audio without sending it", async () => {
    const api = uploadApi();
    const queue = createUploadQueue(api, { onChange: () => {} });
    await queue.add([file("notes.txt", "text/plain")]);
    const [item] = await settle(queue);
    expect(item.status).toBe("failed");
    expect(item.message).toMatch(/photos, videos and audio/);
    expect(api.uploaded).toHaveLength(0);
  });

  it("skips a file the server already has, with a note, when the server can tell", async () => {
    const known = await sha256Hex(file("x.png", "image/png", "same bytes"));
    const api = uploadApi({ existing: [known] });
    const queue = createUploadQueue(api, { onChange: () => {} });
    await queue.add([file("again.png", "image/png", "same bytes"), file("new.png", "image/png", "other")]);
    const [again, fresh] = await settle(queue);
    expect(again.status).toBe("skipped");
    expect(again.message).toMatch(/Already in your library/);
    expect(fresh.status).toBe("done");
    expect(api.uploaded.map((u) => u.name)).toEqual(["new.png"]);
  });

  it("retries a failed file on request", async () => {
    const answers = { "a.png": new ApiError(0, null, "The connection was lost.") };
    const api = uploadApi({ answers });
    const queue = createUploadQueue(api, { onChange: () => {} });
    await queue.add([file("a.png", "image/png")]);
    expect((await settle(queue))[0].status).toBe("failed");
    delete answers["a.png"];
    queue.retry(queue.items[0].id);
    expect((await settle(queue))[0].status).toBe("done");
  });

  it("stops when the session ends: nothing more is sent, what was sending is stopped", async () => {
    // Two uploads that never finish on their own, a third waiting its turn.
    const started = [];
    const aborted = [];
    const api = {
      ...uploadApi(),
      uploadMultipart: (upload, fields, { signal }) =>
        new Promise((_resolve, reject) => {
          started.push(upload.name);
          signal.addEventListener("abort", () => {
            aborted.push(upload.name);
            reject(new Error("aborted"));
          });
        }),
    };
    globalThis.localStorage?.setItem("tus::fingerprint-of-a-file", "{}");
    const queue = createUploadQueue(api, { onChange: () => {} });
    await queue.add([file("a.png", "image/png"), file("b.png", "image/png"), file("c.png", "image/png")]);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(started).toEqual(["a.png", "b.png"]);

    queue.stop();
    await new Promise((resolve) => setTimeout(resolve, 0));

    expect(queue.items.map((item) => item.status)).toEqual(["cancelled", "cancelled", "cancelled"]);
    expect(aborted).toEqual(["a.png", "b.png"]);
    expect(started).toEqual(["a.png", "b.png"]); // c.png never went, with anyone's token
    expect(globalThis.localStorage?.getItem("tus::fingerprint-of-a-file") ?? null).toBeNull();
  });

  // A resumable upload that never finishes on its own, and what it was asked when stopped.
  function resumableApi({ cancelFails = false } = {}) {
    const cancels = [];
    const api = { ...uploadApi(), supportsResumableUploads: async () => true };
    const loadResumable = async () => ({
      startResumableUpload: (_api, upload) => ({
        finished: new Promise(() => {}),
        cancel: (options) => {
          cancels.push({ name: upload.name, ...options });
          return cancelFails ? Promise.reject(new Error("DELETE answered 401")) : Promise.resolve();
        },
      }),
    });
    return { api, cancels, loadResumable };
  }

  it("deletes what was sent with the signed-out person's token, when it is given", async () => {
    const { api, cancels, loadResumable } = resumableApi();
    const queue = createUploadQueue(api, { onChange: () => {}, loadResumable });
    await queue.add([file("a.png", "image/png")]);
    await new Promise((resolve) => setTimeout(resolve, 0));

    await queue.stop({ token: "ada's token" });

    expect(cancels).toEqual([{ name: "a.png", token: "ada's token", terminate: true }]);
  });

  it("only stops what was being sent when the session ended elsewhere (no token)", async () => {
    const { api, cancels, loadResumable } = resumableApi();
    const queue = createUploadQueue(api, { onChange: () => {}, loadResumable });
    await queue.add([file("a.png", "image/png")]);
    await new Promise((resolve) => setTimeout(resolve, 0));

    await queue.stop();

    expect(cancels).toEqual([{ name: "a.png", token: null, terminate: false }]);
  });

  it("stops even when the server refuses to delete what was sent", async () => {
    const { api, loadResumable } = resumableApi({ cancelFails: true });
    const queue = createUploadQueue(api, { onChange: () => {}, loadResumable });
    await queue.add([file("a.png", "image/png"), file("b.png", "image/png")]);
    await new Promise((resolve) => setTimeout(resolve, 0));

    await expect(queue.stop({ token: "t" })).resolves.toBeDefined();
    queue.cancel(queue.items[0].id); // already cancelled: nothing more, and nothing thrown
    expect(queue.items.map((item) => item.status)).toEqual(["cancelled", "cancelled"]);
  });

  it("computes overall progress over the files that count", () => {
    const progress = overallProgress([
      { status: "uploading", loaded: 50, total: 100 },
      { status: "done", loaded: 100, total: 100 },
      { status: "failed", loaded: 0, total: 1000 },
    ]);
    expect(progress.fraction).toBe(0.75);
  });
});
