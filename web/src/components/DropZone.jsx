// Files dragged anywhere over the window: a calm overlay says where they will go, and a drop
// hands them to the upload queue. Only drags that carry files count (not text or links).
import { useEffect, useState } from "preact/hooks";
import { Icon } from "./Icon.jsx";

const carriesFiles = (event) => [...(event.dataTransfer?.types || [])].includes("Files");

export function DropZone({ onFiles, label }) {
  const [active, setActive] = useState(false);

  useEffect(() => {
    let depth = 0;
    const enter = (event) => {
      if (!carriesFiles(event)) return;
      event.preventDefault();
      depth += 1;
      setActive(true);
    };
    const over = (event) => {
      if (!carriesFiles(event)) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = "copy";
    };
    const leave = (event) => {
      if (!carriesFiles(event)) return;
      depth = Math.max(0, depth - 1);
      if (!depth) setActive(false);
    };
    const drop = (event) => {
      if (!carriesFiles(event)) return;
      event.preventDefault();
      depth = 0;
      setActive(false);
      onFiles([...event.dataTransfer.files]);
    };
    addEventListener("dragenter", enter);
    addEventListener("dragover", over);
    addEventListener("dragleave", leave);
    addEventListener("drop", drop);
    return () => {
      removeEventListener("dragenter", enter);
      removeEventListener("dragover", over);
      removeEventListener("dragleave", leave);
      removeEventListener("drop", drop);
    };
  }, [onFiles]);

  return active ? (
    <div class="dropzone" aria-hidden="true">
      <div class="dropzone-card">
        <Icon name="upload" size={40} />
        <p>{label}</p>
      </div>
    </div>
  ) : null;
}
