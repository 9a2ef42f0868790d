// A grid of media with its filters, selection and viewer: the whole library, the trash, or
// one collection. Items come from a source (src/library-source.js), a batch at a time.
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { pagedMediaSource } from "../library-source.js";
import { notify, on } from "../events.js";
import { navigate, withParam } from "../router.js";
import { CollectionHeader } from "./CollectionHeader.jsx";
import { CollectionPicker } from "./CollectionPicker.jsx";
import { FilterBar } from "./FilterBar.jsx";
import { LibraryGrid } from "./LibraryGrid.jsx";
import { MediaTile } from "./MediaTile.jsx";
import { SelectionBar } from "./SelectionBar.jsx";
import { Viewer } from "./Viewer.jsx";

const TITLES = { library: "Library", trash: "Trash" };
const PENDING_POLLED = 24;
const PENDING_POLLS = 30;
const PENDING_POLL_MS = 2000;
const EMPTY = {
  library: "Nothing here yet. Drop photos, videos or audio anywhere on this page, or choose Upload.",
  trash: "The trash is empty.",
  collection: "This collection is empty. Select items in your library and choose Add to collection.",
};

export function LibraryView({ api, scope, viewing }) {
  const [filters, setFilters] = useState({ type: "", search: "" });
  const [items, setItems] = useState([]);
  const [state, setState] = useState({ loading: true, done: false, error: "" });
  const [selected, setSelected] = useState(() => new Set());
  const [picking, setPicking] = useState(false);
  const source = useRef(null);
  const loading = useRef(false);
  const trash = scope.kind === "trash";

  const loadMore = useCallback(async () => {
    const current = source.current;
    // The grid may ask before the first source exists (its effect runs before this view's).
    if (!current || loading.current || current.done) return;
    loading.current = true;
    setState((old) => ({ ...old, loading: true, error: "" }));
    try {
      const batch = await current.next();
      if (source.current !== current) return; // the filters changed meanwhile
      setItems((old) => [...old, ...batch]);
      setState({ loading: false, done: current.done, error: "" });
    } catch (error) {
      if (source.current === current) setState({ loading: false, done: false, error: error.message });
    } finally {
      if (source.current === current) loading.current = false;
    }
  }, []);

  useEffect(() => {
    source.current = pagedMediaSource(api, {
      ...filters,
      trash,
      collection: scope.kind === "collection" ? scope.collectionId : undefined,
    });
    loading.current = false;
    setItems([]);
    setSelected(new Set());
    setState({ loading: true, done: false, error: "" });
    loadMore();
  }, [filters.type, filters.search]);

  // A finished upload appears at once where it belongs.
  useEffect(
    () =>
      on("uploaded", (media) => {
        if (trash || !media) return;
        if (scope.kind === "collection" && media.collection !== scope.collectionId) return;
        if (filters.type && media.type !== filters.type) return;
        if (filters.search) return;
        setItems((old) => (old.some((item) => item.id === media.id) ? old : [media, ...old]));
      }),
    [filters.type, filters.search],
  );

  const replace = (media) => setItems((old) => old.map((item) => (item.id === media.id ? { ...item, ...media } : item)));

  // Items the job worker is still deriving (a fresh upload): asked again every 2 s, 30 times at
  // most, so their tiles fill in with the thumbnail by themselves.
  const pendingIds = items
    .filter((item) => item.processing === "pending")
    .slice(0, PENDING_POLLED)
    .map((item) => item.id)
    .join(",");
  useEffect(() => {
    if (!pendingIds) return undefined;
    let tries = 0;
    const timer = setInterval(async () => {
      tries += 1;
      if (tries >= PENDING_POLLS) clearInterval(timer);
      for (const id of pendingIds.split(",")) {
        try {
          const fresh = await api.getMedia(id);
          if (fresh.processing !== "pending") replace(fresh);
        } catch {
          // Gone or unreachable for now: the next round (or the next visit) asks again.
        }
      }
    }, PENDING_POLL_MS);
    return () => clearInterval(timer);
  }, [pendingIds]);
  const removeFromView = (ids) => {
    const gone = new Set(ids);
    setItems((old) => old.filter((item) => !gone.has(item.id)));
    setSelected((old) => new Set([...old].filter((id) => !gone.has(id))));
  };

  async function runOnEach(ids, action) {
    const done = [];
    const failures = [];
    for (const id of ids) {
      try {
        await action(id);
        done.push(id);
      } catch (error) {
        failures.push(error.message);
      }
    }
    if (failures.length) notify(failures[0], { kind: "error" });
    return done;
  }

  const plural = (count, word) => `${count} ${word}${count === 1 ? "" : "s"}`;

  async function moveToTrash(ids) {
    const done = await runOnEach(ids, (id) => api.deleteMedia(id));
    removeFromView(done);
    if (done.length) {
      notify(`Moved ${plural(done.length, "item")} to the trash.`, {
        action: { label: "Undo", run: () => runOnEach(done, (id) => api.restoreMedia(id)).then(reload) },
      });
    }
  }

  async function restore(ids) {
    const done = await runOnEach(ids, (id) => api.restoreMedia(id));
    removeFromView(done);
    if (done.length) notify(`Restored ${plural(done.length, "item")} to your library.`);
  }

  async function addToCollection(ids, collection) {
    const done = await runOnEach(ids, (id) => api.addToCollection(id, collection.id).then(replace));
    if (done.length) notify(`Added ${plural(done.length, "item")} to “${collection.name}”.`);
    setSelected(new Set());
  }

  async function removeFromCollection(ids) {
    const done = await runOnEach(ids, (id) => api.removeFromCollection(id));
    removeFromView(done);
    if (done.length) notify(`Removed ${plural(done.length, "item")} from this collection.`);
  }

  const reload = () => setFilters((old) => ({ ...old }));

  const toggle = useCallback(
    (id) =>
      setSelected((old) => {
        const next = new Set(old);
        if (!next.delete(id)) next.add(id);
        return next;
      }),
    [],
  );
  const open = useCallback((id) => navigate(withParam("view", id)), []);

  const viewIndex = viewing ? items.findIndex((item) => item.id === viewing) : -1;
  const selecting = selected.size > 0;

  return (
    <section class="library" aria-labelledby="library-title">
      {scope.kind === "collection" ? (
        <CollectionHeader api={api} id={scope.collectionId} />
      ) : (
        <h1 id="library-title" class="page-title">
          {TITLES[scope.kind]}
        </h1>
      )}
      <FilterBar filters={filters} onChange={setFilters} count={state.done ? items.length : null} />
      {selecting ? (
        <SelectionBar
          count={selected.size}
          scope={scope.kind}
          onClear={() => setSelected(new Set())}
          onSelectAll={() => setSelected(new Set(items.map((item) => item.id)))}
          onDelete={() => moveToTrash([...selected])}
          onRestore={() => restore([...selected])}
          onAddToCollection={() => setPicking(true)}
          onRemoveFromCollection={() => removeFromCollection([...selected])}
        />
      ) : null}
      {state.error && (
        <div class="inline-error" role="alert">
          <span>{state.error}</span>
          <button type="button" class="button small" onClick={loadMore}>
            Try again
          </button>
        </div>
      )}
      {!items.length && state.done && !state.error && (
        <p class="empty">{filters.search || filters.type ? "Nothing matches." : EMPTY[scope.kind]}</p>
      )}
      <LibraryGrid
        items={items}
        label={scope.kind === "trash" ? "Items in the trash" : "Media"}
        hasMore={!state.done && !state.error}
        loading={state.loading}
        onNearEnd={loadMore}
        renderTile={(media) => (
          <MediaTile
            media={media}
            selected={selected.has(media.id)}
            selecting={selecting}
            onOpen={open}
            onToggle={toggle}
          />
        )}
      />
      {state.loading && (
        <p class="loading" role="status">
          <span class="spinner" aria-hidden="true" /> Loading…
        </p>
      )}
      {viewIndex >= 0 && (
        <Viewer
          api={api}
          items={items}
          index={viewIndex}
          trash={trash}
          onNavigate={(index) => navigate(withParam("view", items[index].id), { replace: true })}
          onClose={() => navigate(withParam("view", null))}
          onChanged={replace}
          onDelete={(id) => moveToTrash([id])}
          onRestore={(id) => restore([id])}
          onAddToCollection={(id) => {
            setSelected(new Set([id]));
            setPicking(true);
          }}
        />
      )}
      {picking && (
        <CollectionPicker
          api={api}
          onClose={() => setPicking(false)}
          onPick={(collection) => {
            setPicking(false);
            addToCollection([...selected], collection);
          }}
        />
      )}
    </section>
  );
}
