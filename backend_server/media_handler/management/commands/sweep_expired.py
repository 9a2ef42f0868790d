from django.core.management.base import BaseCommand

from media_handler.changes import changes_prune
from media_handler.idempotency import idempotency_keys_sweep
from media_handler.uploads.services import uploads_sweep


class Command(BaseCommand):
    help = (
        "Delete what has outlived its use: resumable uploads past Upload-Expires (with their "
        "bytes), Idempotency-Keys past IDEMPOTENCY_KEY_SECONDS, change-feed entries past "
        "CHANGE_FEED_RETENTION_SECONDS. Safe to run at any time, on any node (cron, or the "
        "worker's media.sweep_expired job)."
    )

    def handle(self, *args, **options):
        uploads = uploads_sweep()
        keys = idempotency_keys_sweep()
        changes = changes_prune()
        self.stdout.write(
            f"{uploads} expired upload(s), {keys} idempotency key(s), {changes} change(s) deleted."
        )
