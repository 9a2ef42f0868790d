"""What the media service keeps under MEDIA_ROOT, seen from outside.

Since the derived-media pipeline landed, the job worker writes a thumbnail and a preview next to
each original, some time after the upload's 201. Checks on "what the upload stored" therefore
look at originals only; derivatives are checked for what they must never be: orphans.
"""

import re
from pathlib import Path

# The worker's naming (media_handler.files.derivatives.DERIVATIVE_NAME), seen from outside.
DERIVATIVE = re.compile(r"^(?P<original>.+)\.(thumbnail|preview)-[0-9a-f]{12}\.(webp|jpg)$")


def files_under(root: Path, relative_to: Path) -> set[str]:
    if not root.exists():
        return set()
    return {path.relative_to(relative_to).as_posix() for path in root.rglob("*") if path.is_file()}


def originals(names: set[str]) -> set[str]:
    return {name for name in names if not DERIVATIVE.match(name)}


def orphan_derivatives(names: set[str]) -> set[str]:
    """Derivatives whose original is not among `names`."""
    return {
        name
        for name in names
        if (match := DERIVATIVE.match(name)) and match["original"] not in names
    }


def stored_originals(media_root: Path) -> set[str]:
    """The originals under MEDIA_ROOT/uploads, relative to MEDIA_ROOT."""
    return originals(files_under(media_root / "uploads", media_root))
