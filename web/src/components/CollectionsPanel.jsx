// The person's collections: create, rename, delete, open one as a grid.
import { useEffect, useState } from "preact/hooks";
import { allCollections } from "../collections.js";
import { notify } from "../events.js";
import { FormError } from "./FormError.jsx";
import { Icon } from "./Icon.jsx";
import { link } from "./SignIn.jsx";

export function CollectionsPanel({ api }) {
  const [collections, setCollections] = useState(null);
  const [error, setError] = useState("");
  const [renaming, setRenaming] = useState(null);

  const load = () => allCollections(api).then(setCollections, (failure) => setError(failure.message));
  useEffect(() => {
    load();
  }, []);

  async function create(event) {
    event.preventDefault();
    const form = event.currentTarget;
    const fields = Object.fromEntries(new FormData(form));
    setError("");
    try {
      const created = await api.createCollection({ name: fields.name.trim(), description: fields.description });
      setCollections((old) => [created, ...(old || [])]);
      form.reset();
      notify(`Created “${created.name}”.`);
    } catch (failure) {
      setError(failure.message);
    }
  }

  async function rename(collection, name) {
    try {
      const saved = await api.updateCollection(collection.id, { name });
      setCollections((old) => old.map((item) => (item.id === saved.id ? { ...item, ...saved } : item)));
      setRenaming(null);
    } catch (failure) {
      notify(failure.message, { kind: "error" });
    }
  }

  async function remove(collection) {
    if (!confirm(`Delete the collection “${collection.name}”? Its items stay in your library.`)) return;
    try {
      await api.deleteCollection(collection.id);
      setCollections((old) => old.filter((item) => item.id !== collection.id));
      notify(`Deleted “${collection.name}”. Its items are still in your library.`);
    } catch (failure) {
      notify(failure.message, { kind: "error" });
    }
  }

  return (
    <section aria-labelledby="collections-title">
      <h1 id="collections-title" class="page-title">
        Collections
      </h1>
      <form class="card inline-form" onSubmit={create}>
        <label class="field grow">
          <span>Name</span>
          <input name="name" required maxLength={255} placeholder="Summer 2025" />
        </label>
        <label class="field grow">
          <span>Description (optional)</span>
          <input name="description" maxLength={10000} />
        </label>
        <button type="submit" class="button primary">
          <Icon name="plus" /> New collection
        </button>
      </form>
      <FormError message={error} />
      {collections === null && !error && (
        <p class="loading" role="status">
          <span class="spinner" aria-hidden="true" /> Loading…
        </p>
      )}
      {collections?.length === 0 && <p class="empty">No collections yet. Name one above to start.</p>}
      <ul class="collection-list">
        {collections?.map((collection) => (
          <li key={collection.id} class="collection-card">
            {renaming === collection.id ? (
              <form
                class="inline-form"
                onSubmit={(event) => {
                  event.preventDefault();
                  rename(collection, new FormData(event.currentTarget).get("name").trim());
                }}
              >
                <label class="field grow">
                  <span>New name for “{collection.name}”</span>
                  <input name="name" defaultValue={collection.name} required maxLength={255} autofocus />
                </label>
                <button type="submit" class="button primary small">
                  Save
                </button>
                <button type="button" class="button ghost small" onClick={() => setRenaming(null)}>
                  Cancel
                </button>
              </form>
            ) : (
              <>
                <a class="collection-open" href={`/collections/${collection.id}`} onClick={link(`/collections/${collection.id}`)}>
                  <span class="collection-icon" aria-hidden="true">
                    <Icon name="folder" size={22} />
                  </span>
                  <span class="collection-text">
                    <strong>{collection.name}</strong>
                    <small>
                      {collection.media_count} {collection.media_count === 1 ? "item" : "items"}
                      {collection.description ? ` · ${collection.description}` : ""}
                    </small>
                  </span>
                </a>
                <div class="collection-actions">
                  <button type="button" class="icon-button" onClick={() => setRenaming(collection.id)} aria-label={`Rename ${collection.name}`} title="Rename">
                    <Icon name="edit" />
                  </button>
                  <button type="button" class="icon-button" onClick={() => remove(collection)} aria-label={`Delete ${collection.name}`} title="Delete">
                    <Icon name="trash" />
                  </button>
                </div>
              </>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
