from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from media_handler.models import Media
from media_handler.services import media_purge

BATCH_SIZE = 500


class Command(BaseCommand):
    help = "Delete for good the media (rows and files) that have been in the trash for DAYS days."

    def add_arguments(self, parser):
        parser.add_argument("--older-than", type=int, required=True, metavar="DAYS")
        parser.add_argument("--dry-run", action="store_true", help="Only count them.")

    def handle(self, *args, older_than: int, dry_run: bool, **options):
        if older_than < 0:
            raise CommandError("--older-than must be zero or more days.")
        cutoff = timezone.now() - timedelta(days=older_than)
        expired = Media.objects.filter(is_deleted=True, deleted_at__lte=cutoff).order_by("pk")
        if dry_run:
            self.stdout.write(f"{expired.count()} media would be purged.")
            return
        purged = 0
        while batch := list(expired[:BATCH_SIZE]):
            purged += media_purge(media_items=batch, trashed_before=cutoff)
        self.stdout.write(f"{purged} media purged.")
