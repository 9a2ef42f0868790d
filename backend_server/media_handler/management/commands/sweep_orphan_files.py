import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from media_handler.files import UPLOADS_DIR, media_root
from media_handler.models import Media

BATCH_SIZE = 500


class Command(BaseCommand):
    help = (
        "Delete stored files that no media row refers to (left by a crash between the file and "
        "the row) and abandoned temporary uploads, once older than ORPHAN_GRACE_SECONDS."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--grace-seconds",
            type=int,
            default=None,
            help="Override ORPHAN_GRACE_SECONDS (files younger than this may be mid-upload).",
        )
        parser.add_argument("--dry-run", action="store_true", help="Only list them.")

    def handle(self, *args, grace_seconds: int | None, dry_run: bool, **options):
        grace = settings.ORPHAN_GRACE_SECONDS if grace_seconds is None else grace_seconds
        cutoff = time.time() - grace
        root = media_root()
        orphans = [*self._orphan_uploads(root, cutoff), *self._stale_temporary(cutoff)]
        for path in orphans:
            self.stdout.write(f"{'would remove' if dry_run else 'removed'} {path}")
            if not dry_run:
                path.unlink(missing_ok=True)
        self.stdout.write(f"{len(orphans)} orphan file(s).")

    def _orphan_uploads(self, root: Path, cutoff: float):
        old_files = [
            path
            for path in (root / UPLOADS_DIR).rglob("*")
            if path.is_file() and path.stat().st_mtime < cutoff
        ]
        for start in range(0, len(old_files), BATCH_SIZE):
            batch = {
                path.relative_to(root).as_posix(): path for path in old_files[start:][:BATCH_SIZE]
            }
            known = set(
                Media.objects.filter(storage_path__in=batch)
                .exclude(checksum_sha256="")
                .values_list("storage_path", flat=True)
            )
            yield from (path for relative, path in batch.items() if relative not in known)

    def _stale_temporary(self, cutoff: float):
        incoming = Path(settings.FILE_UPLOAD_TEMP_DIR)
        if incoming.is_dir():
            yield from (
                path
                for path in incoming.iterdir()
                if path.is_file() and path.stat().st_mtime < cutoff
            )
