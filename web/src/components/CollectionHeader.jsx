// The title of a collection's grid, with a way back to all collections.
import { useEffect, useState } from "preact/hooks";
import { FormError } from "./FormError.jsx";
import { Icon } from "./Icon.jsx";
import { link } from "./SignIn.jsx";

export function CollectionHeader({ api, id }) {
  const [collection, setCollection] = useState(null);
  const [error, setError] = useState("");

  useEffect(() => {
    api.getCollection(id).then(setCollection, (failure) => setError(failure.message));
  }, [id]);

  return (
    <div class="collection-header">
      <a class="back-link" href="/collections" onClick={link("/collections")}>
        <Icon name="left" size={16} /> Collections
      </a>
      <h1 id="library-title" class="page-title">
        {collection?.name || (error ? "Collection" : "…")}
      </h1>
      {collection?.description && <p class="muted">{collection.description}</p>}
      <FormError message={error} />
    </div>
  );
}
