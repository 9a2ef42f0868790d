// The signed-in frame: the navigation (a sidebar on a desktop, a tab bar on a phone), the
// screen of the current route, the upload queue and the drop zone over the whole window.
import { useEffect, useRef, useState } from "preact/hooks";
import { createUploadQueue } from "../uploads.js";
import { emit } from "../events.js";
import { AccountPage } from "./AccountPage.jsx";
import { CollectionsPanel } from "./CollectionsPanel.jsx";
import { DropZone } from "./DropZone.jsx";
import { Icon } from "./Icon.jsx";
import { LibraryView } from "./LibraryView.jsx";
import { Notices } from "./Notices.jsx";
import { link } from "./SignIn.jsx";
import { UploadQueue } from "./UploadQueue.jsx";

const NAV = [
  { to: "/", label: "Library", icon: "library", screens: ["library"] },
  { to: "/collections", label: "Collections", icon: "folder", screens: ["collections", "collection"] },
  { to: "/trash", label: "Trash", icon: "trash", screens: ["trash"] },
  { to: "/account", label: "Account", icon: "user", screens: ["account"] },
];

export function AppShell({ api, user, screen, route, onUserChange }) {
  const [uploads, setUploads] = useState([]);
  const queue = useRef(null);
  const picker = useRef(null);
  if (!queue.current) {
    queue.current = createUploadQueue(api, {
      onChange: setUploads,
      onUploaded: (media) => emit("uploaded", media),
    });
  }
  const uploadTarget = screen.name === "collection" ? screen.id : undefined;
  const addFiles = (files) => {
    if (files.length) queue.current.add(files, { collection: uploadTarget });
  };

  // Signing out here: the queue stops first, and the partial uploads it was sending are deleted
  // with this person's token while it still works. Signed out any other way (this frame goes):
  // it stops, and nothing more is sent, with anyone's token.
  useEffect(() => {
    const stopBeforeSignOut = api.beforeSignOut((token) => queue.current.stop({ token }));
    return () => {
      stopBeforeSignOut();
      queue.current?.stop();
    };
  }, []);

  useEffect(() => {
    const title = { collections: "Collections", trash: "Trash", account: "Account" }[screen.name];
    document.title = title ? `${title} · Media Handler` : "Media Handler";
  }, [screen.name]);

  return (
    <div class="shell">
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <div class="brand">
          <span class="brand-mark" aria-hidden="true" />
          <span>Media Handler</span>
        </div>
        <div class="topbar-actions">
          <button class="button primary" type="button" onClick={() => picker.current.click()}>
            <Icon name="upload" />
            <span>Upload</span>
          </button>
          <input
            ref={picker}
            hidden
            type="file"
            multiple
            accept="image/*,video/*,audio/*"
            onChange={(event) => {
              addFiles([...event.currentTarget.files]);
              event.currentTarget.value = "";
            }}
          />
        </div>
      </header>
      <nav class="sidebar" aria-label="Main">
        <ul>
          {NAV.map((item) => {
            const active = item.screens.includes(screen.name);
            return (
              <li key={item.to}>
                <a href={item.to} onClick={link(item.to)} aria-current={active ? "page" : undefined}>
                  <Icon name={item.icon} />
                  <span>{item.label}</span>
                </a>
              </li>
            );
          })}
        </ul>
        <p class="sidebar-user" title={user.email}>
          {user.first_name || user.username}
        </p>
      </nav>
      <main id="main" class="content" tabIndex={-1}>
        {screen.name === "collections" && <CollectionsPanel api={api} />}
        {screen.name === "account" && <AccountPage api={api} user={user} onUserChange={onUserChange} />}
        {["library", "trash", "collection"].includes(screen.name) && (
          <LibraryView
            key={screen.name + (screen.id || "")}
            api={api}
            scope={{ kind: screen.name, collectionId: screen.id }}
            viewing={route.params.get("view")}
          />
        )}
      </main>
      <UploadQueue queue={queue.current} items={uploads} />
      <DropZone
        onFiles={addFiles}
        label={uploadTarget ? "Drop to upload into this collection" : "Drop to upload to your library"}
      />
      <Notices />
    </div>
  );
}

