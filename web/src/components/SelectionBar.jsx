// What can be done with the selected items, where the selection lives.
import { Icon } from "./Icon.jsx";

export function SelectionBar({ count, scope, onClear, onSelectAll, onDelete, onRestore, onAddToCollection, onRemoveFromCollection }) {
  return (
    <div class="selection-bar" role="region" aria-label="Selection">
      <button type="button" class="icon-button" onClick={onClear} aria-label="Clear selection" title="Clear selection">
        <Icon name="close" />
      </button>
      <span class="selection-count" aria-live="polite">
        {count} selected
      </span>
      <button type="button" class="button ghost small" onClick={onSelectAll}>
        Select all loaded
      </button>
      <span class="spacer" />
      {scope === "trash" ? (
        <button type="button" class="button" onClick={onRestore}>
          <Icon name="restore" /> Restore
        </button>
      ) : (
        <>
          <button type="button" class="button" onClick={onAddToCollection}>
            <Icon name="folder" /> Add to collection
          </button>
          {scope === "collection" && (
            <button type="button" class="button" onClick={onRemoveFromCollection}>
              <Icon name="remove" /> Remove from collection
            </button>
          )}
          <button type="button" class="button danger" onClick={onDelete}>
            <Icon name="trash" /> Delete
          </button>
        </>
      )}
    </div>
  );
}
