// Where the library grid gets its items: a source with `next()` → the next batch (or [] when
// there is no more). The media list's keyset pages (`?cursor=`, then the cursor of each answer's
// `next` link): an upload made while the person scrolls neither repeats an item nor hides one,
// and the 20th page costs the server what the first does.
export const PAGE_SIZE = 100;

export function pagedMediaSource(api, { type, search, collection, trash } = {}) {
  let cursor = ""; // empty: the first page
  let done = false;
  const seen = new Set();
  return {
    get done() {
      return done;
    },
    async next() {
      if (done) return [];
      const body = await api.listMedia({
        cursor,
        page_size: PAGE_SIZE,
        type: type || undefined,
        search: search || undefined,
        collection: collection || undefined,
        is_deleted: trash ? "true" : undefined,
      });
      cursor = body.next ? new URL(body.next).searchParams.get("cursor") : null;
      done = !cursor;
      // A server that answers page numbers anyway (no cursor in `next`) ends the walk, and an
      // item met twice is shown once.
      const fresh = body.results.filter((item) => !seen.has(item.id));
      for (const item of fresh) seen.add(item.id);
      return fresh;
    },
  };
}
