// "Add to collection": pick one of the person's collections, or name a new one.
import { useEffect, useRef, useState } from "preact/hooks";
import { allCollections } from "../collections.js";
import { FormError } from "./FormError.jsx";
import { Icon } from "./Icon.jsx";

export function CollectionPicker({ api, onPick, onClose }) {
  const dialog = useRef(null);
  const [collections, setCollections] = useState(null);
  const [error, setError] = useState("");

  useEffect(() => {
    dialog.current.showModal();
    allCollections(api).then(setCollections, (failure) => setError(failure.message));
  }, []);

  async function create(event) {
    event.preventDefault();
    const name = new FormData(event.currentTarget).get("name").trim();
    if (!name) return;
    try {
      onPick(await api.createCollection({ name }));
    } catch (failure) {
      setError(failure.message);
    }
  }

  return (
    <dialog
      ref={dialog}
      class="sheet"
      aria-labelledby="picker-title"
      onCancel={(event) => {
        event.preventDefault();
        onClose();
      }}
    >
      <header class="sheet-head">
        <h2 id="picker-title">Add to collection</h2>
        <button type="button" class="icon-button" onClick={onClose} aria-label="Close">
          <Icon name="close" />
        </button>
      </header>
      {collections === null && !error && <p role="status">Loading collections…</p>}
      {collections?.length > 0 && (
        <ul class="picker-list">
          {collections.map((collection) => (
            <li key={collection.id}>
              <button type="button" class="picker-item" onClick={() => onPick(collection)}>
                <Icon name="folder" />
                <span>{collection.name}</span>
                <small>{collection.media_count} items</small>
              </button>
            </li>
          ))}
        </ul>
      )}
      <form class="inline-form" onSubmit={create}>
        <label class="field grow">
          <span>New collection</span>
          <input name="name" placeholder="Name" maxLength={255} />
        </label>
        <button type="submit" class="button primary">
          <Icon name="plus" /> Create and add
        </button>
      </form>
      <FormError message={error} />
    </dialog>
  );
}
