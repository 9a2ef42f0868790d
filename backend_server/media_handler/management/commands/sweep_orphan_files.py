from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from media_handler.files.derivatives import original_of
from media_handler.files.storage import (
    UPLOADS_DIR,
    delete_stored_file,
    is_object_store,
    stored_files,
)
from media_handler.models import Media

BATCH_SIZE = 500


class Command(BaseCommand):
    help = (
        "Delete stored files that no media row refers to (left by a crash between the file and "
        "the row; derivatives whose media is gone or has newer ones), abandoned temporary "
        "files and, in a bucket, the chunks of resumable uploads whose row is gone, once older "
        "than ORPHAN_GRACE_SECONDS; and multipart uploads started longer ago than "
        "ABANDONED_UPLOAD_SECONDS."
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
        verb = "would remove" if dry_run else "removed"
        cutoff = timezone.now() - timedelta(seconds=grace)
        orphans = 0
        for storage_path in self._orphan_uploads(cutoff):
            orphans += 1
            self.stdout.write(f"{verb} {storage_path}")
            if not dry_run:
                delete_stored_file(storage_path)
        if is_object_store():
            # Uploads whose process died between their first part and their answer (a media's,
            # or a resumable upload's big chunk).
            from media_handler.files.s3 import abandoned_multipart_uploads, abort_multipart_upload
            from media_handler.uploads.bucket import RESUMABLE_DIR, chunks_delete, orphan_chunks

            # Dated by their start, not their last part: one still arriving an hour later is
            # not abandoned (ABANDONED_UPLOAD_SECONDS).
            started_before = timezone.now() - timedelta(
                seconds=max(grace, settings.ABANDONED_UPLOAD_SECONDS)
            )
            for directory in (UPLOADS_DIR, RESUMABLE_DIR):
                for key, upload_id in abandoned_multipart_uploads(
                    started_before=started_before, directory=directory
                ):
                    orphans += 1
                    self.stdout.write(f"{verb} the multipart upload of {key}")
                    if not dry_run:
                        abort_multipart_upload(key, upload_id)
            # A resumable upload's chunks whose upload is gone (deleted in batches).
            chunks = list(orphan_chunks(modified_before=cutoff))
            for name in chunks:
                orphans += 1
                self.stdout.write(f"{verb} {name}")
            if chunks and not dry_run:
                chunks_delete(chunks)
        for path in self._stale_temporary(cutoff.timestamp()):
            orphans += 1
            self.stdout.write(f"{verb} {path}")
            if not dry_run:
                path.unlink(missing_ok=True)
        self.stdout.write(f"{orphans} orphan file(s).")

    def _orphan_uploads(self, cutoff) -> Iterator[str]:
        old_files = list(stored_files(modified_before=cutoff))
        for start in range(0, len(old_files), BATCH_SIZE):
            batch = old_files[start:][:BATCH_SIZE]
            # A derivative's name starts with its original's: the rows are found by the
            # original's path alone (indexed), whichever kind of file the batch holds.
            originals = {original_of(name) or name for name in batch}
            known = {
                path
                for paths in Media.objects.filter(storage_path__in=originals)
                .exclude(checksum_sha256="")
                .values_list("storage_path", "thumbnail_path", "preview_path")
                for path in paths
            }
            yield from (storage_path for storage_path in batch if storage_path not in known)

    def _stale_temporary(self, cutoff: float) -> Iterator[Path]:
        """Uploads still being received live in Django's temporary directory, always local."""
        incoming = Path(settings.FILE_UPLOAD_TEMP_DIR)
        if incoming.is_dir():
            yield from (
                path
                for path in incoming.iterdir()
                if path.is_file() and path.stat().st_mtime < cutoff
            )
