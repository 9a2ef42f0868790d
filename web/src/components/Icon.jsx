// Line icons drawn inline (no icon font, no external host): 24×24, stroke in currentColor.
const PATHS = {
  photo: "M4 5h16v14H4z M4 16l5-5 4 4 3-3 4 4 M15.5 9.5a1.5 1.5 0 1 0 0-.01",
  video: "M3 6h13v12H3z M16 10l5-3v10l-5-3",
  audio: "M9 18V5l11-2v13 M9 18a3 3 0 1 1-3-3 3 3 0 0 1 3 3z M20 16a3 3 0 1 1-3-3 3 3 0 0 1 3 3z",
  library: "M4 4h7v7H4z M13 4h7v7h-7z M4 13h7v7H4z M13 13h7v7h-7z",
  folder: "M3 6h6l2 2h10v11H3z",
  trash: "M4 7h16 M9 7V4h6v3 M6 7l1 13h10l1-13",
  user: "M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8z M4 21a8 8 0 0 1 16 0",
  upload: "M12 16V4 M7 9l5-5 5 5 M4 20h16",
  close: "M6 6l12 12 M18 6L6 18",
  left: "M15 5l-7 7 7 7",
  right: "M9 5l7 7-7 7",
  info: "M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18z M12 11v6 M12 7.5v.01",
  download: "M12 4v12 M7 11l5 5 5-5 M4 20h16",
  restore: "M4 12a8 8 0 1 0 3-6.2 M4 4v5h5",
  check: "M5 12l5 5 9-10",
  plus: "M12 5v14 M5 12h14",
  search: "M11 18a7 7 0 1 0 0-14 7 7 0 0 0 0 14z M20 20l-4-4",
  pause: "M8 5v14 M16 5v14",
  play: "M7 5l12 7-12 7z",
  remove: "M5 12h14",
  edit: "M4 20h4L19 9l-4-4L4 16z",
  signout: "M15 4h4v16h-4 M10 8l-4 4 4 4 M6 12h10",
};

export function Icon({ name, size = 20, label }) {
  return (
    <svg
      class="icon"
      width={size}
      height={size}
      viewBox="0 0 24 24"
      fill="none"
      stroke="currentColor"
      stroke-width="1.8"
      stroke-linecap="round"
      stroke-linejoin="round"
      aria-hidden={label ? undefined : "true"}
      role={label ? "img" : undefined}
      aria-label={label}
      focusable="false"
    >
      <path d={PATHS[name]} />
    </svg>
  );
}
