// Where the library grid gets its items: a source with `next()` → the next batch (or [] when
// there is no more). Today: the media list's pages. A cursor or change-feed source (SPEC.md,
// "Change feed") replaces it by offering the same two members.
export const PAGE_SIZE = 100;

export function pagedMediaSource(api, { type, search, collection, trash } = {}) {
  let page = 1;
  let done = false;
  const seen = new Set();
  return {
    get done() {
      return done;
    },
    async next() {
      if (done) return [];
      const body = await api.listMedia({
        page,
        page_size: PAGE_SIZE,
        type: type || undefined,
        search: search || undefined,
        collection: collection || undefined,
        is_deleted: trash ? "true" : undefined,
      });
      page += 1;
      done = !body.next;
      // A new upload shifts later pages by one: the repeated item is dropped here.
      const fresh = body.results.filter((item) => !seen.has(item.id));
      for (const item of fresh) seen.add(item.id);
      return fresh;
    },
  };
}
