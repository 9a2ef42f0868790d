import uuid

from django.core.management.base import BaseCommand, CommandError
from django.db.models import QuerySet
from tqdm import tqdm

from media_handler.models import Media, Processing
from media_handler.services import media_queue_derivatives


class Command(BaseCommand):
    help = (
        "Queue the making of derivatives (thumbnail, preview, placeholder) of stored media for "
        "the job worker: all of them (made again), only those without (--missing: pending or "
        "failed), or the given ones (--media-id, made again)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--missing",
            action="store_true",
            help="Only media whose derivatives are pending or failed (after an upgrade, or once "
            "what made them fail is fixed).",
        )
        parser.add_argument(
            "--media-id", action="append", default=[], metavar="UUID", help="Repeatable."
        )
        parser.add_argument("--dry-run", action="store_true", help="Only count them.")

    def handle(self, *args, missing: bool, media_id: list[str], dry_run: bool, **options):
        media = self._selected(missing=missing, media_ids=media_id)
        total = media.count()
        if dry_run:
            self.stdout.write(f"{total} media would be queued.")
            return
        queued = 0
        ids = media.values_list("pk", flat=True).iterator(chunk_size=1000)
        for pk in tqdm(ids, total=total, unit="media", desc="queued", file=self.stderr._out):
            # Without --missing they are made again, even where they are `ready`.
            media_queue_derivatives(media_id=pk, force=not missing)
            queued += 1
        self.stdout.write(f"{queued} media queued for the job worker.")

    def _selected(self, *, missing: bool, media_ids: list[str]) -> QuerySet[Media]:
        media = Media.objects.exclude(checksum_sha256="").order_by("created_at", "pk")
        if media_ids:
            try:
                wanted = {str(uuid.UUID(value)) for value in media_ids}
            except ValueError as exc:
                raise CommandError(f"--media-id takes media UUIDs: {exc}") from exc
            media = media.filter(pk__in=wanted)
            found = {str(pk) for pk in media.values_list("pk", flat=True)}
            absent = sorted(wanted - found)
            if absent:
                raise CommandError(f"no media with a stored file has the id {', '.join(absent)}")
        if missing:
            media = media.exclude(processing=Processing.READY)
        return media
