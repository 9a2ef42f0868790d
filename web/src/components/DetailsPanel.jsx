// The facts of one item and the form to rename it or change its description.
import { useState } from "preact/hooks";
import { Icon } from "./Icon.jsx";

export function DetailsPanel({ api, media, editable, facts, onSaved, onAddToCollection }) {
  const [saving, setSaving] = useState(false);
  const [message, setMessage] = useState({ text: "", error: false });

  async function save(event) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setSaving(true);
    setMessage({ text: "", error: false });
    try {
      const saved = await api.updateMedia(media.id, {
        name: form.get("name").trim(),
        description: form.get("description"),
      });
      onSaved(saved);
      setMessage({ text: "Saved.", error: false });
    } catch (error) {
      setMessage({ text: error.message, error: true });
    } finally {
      setSaving(false);
    }
  }

  return (
    <aside class="details" aria-label="Details">
      <form class="stack" onSubmit={save}>
        <label class="field">
          <span>Name</span>
          <input name="name" defaultValue={media.name} required maxLength={255} disabled={!editable} />
        </label>
        <label class="field">
          <span>Description</span>
          <textarea name="description" rows={4} defaultValue={media.description} disabled={!editable} placeholder="Add a description" />
        </label>
        {editable && (
          <button type="submit" class="button primary" disabled={saving}>
            {saving ? "Saving…" : "Save"}
          </button>
        )}
        <p class={message.error ? "form-error" : "form-saved"} role={message.error ? "alert" : "status"}>
          {message.text}
        </p>
      </form>
      <dl class="facts">
        {facts
          .filter(([, value]) => value)
          .map(([label, value]) => (
            <div key={label}>
              <dt>{label}</dt>
              <dd>{value}</dd>
            </div>
          ))}
      </dl>
      {editable && (
        <button type="button" class="button wide" onClick={onAddToCollection}>
          <Icon name="folder" /> {media.collection ? "Move to another collection" : "Add to collection"}
        </button>
      )}
    </aside>
  );
}
