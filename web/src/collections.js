// Every collection of the person (they are few: all pages, in one list).
export async function allCollections(api) {
  const collections = [];
  for (let page = 1; ; page++) {
    const body = await api.listCollections({ page, page_size: 100 });
    collections.push(...body.results);
    if (!body.next) return collections;
  }
}
