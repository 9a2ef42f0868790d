from dataclasses import dataclass, field

from django.conf import settings
from django.core.files.storage import Storage
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from media_handler.files.storage import BACKENDS, checksum_in, copy_between, storage_of
from media_handler.models import Media

# Passes over the files before giving up on a store that keeps growing (each pass copies what
# arrived during the one before).
MAX_PASSES = 5


@dataclass
class Outcome:
    copied: int = 0
    already_there: int = 0
    failures: list[str] = field(default_factory=list)


class Command(BaseCommand):
    help = (
        "Copy every stored file (originals and derivatives of every media, trashed ones too) "
        "from one storage to the other (--to s3: from MEDIA_ROOT into the S3_* bucket; --to "
        "local: back), under the same names, so no row changes. Each copy is read back and its "
        "SHA-256 checked against the row (a derivative's against its source). Resumable: a file "
        "already verified in the destination is not copied again. It switches nothing: once "
        "every file is verified, set MEDIA_STORAGE and restart the services; the source is "
        "left as it was."
    )

    def add_arguments(self, parser):
        parser.add_argument("--to", required=True, choices=BACKENDS, help="The destination.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Only count what would be copied."
        )

    def handle(self, *args, to: str, dry_run: bool, **options):
        source_backend = next(backend for backend in BACKENDS if backend != to)
        if to == "s3" or source_backend == "s3":
            self._require_bucket_settings()
        source, destination = storage_of(source_backend), storage_of(to)
        outcome = Outcome()
        # The service keeps running: media uploaded, and derivatives made, while a pass copies
        # are in the next pass's list. Done when a pass finds nothing new.
        done: set[str] = set()
        total = 0
        for number in range(1, MAX_PASSES + 1):
            pending = [(path, checksum) for path, checksum in self._files() if path not in done]
            if not pending:
                break
            total += len(pending)
            description = f"to {to}" if number == 1 else f"to {to}, new since (pass {number})"
            for storage_path, expected in tqdm(
                pending, unit="file", desc=description, file=self.stderr._out
            ):
                self._migrate(
                    storage_path,
                    expected,
                    source=source,
                    destination=destination,
                    source_backend=source_backend,
                    outcome=outcome,
                    dry_run=dry_run,
                )
                done.add(storage_path)
            if dry_run:
                break
        else:
            outcome.failures.append(
                f"files were still arriving after {MAX_PASSES} passes: stop uploads (or run the "
                "command again when they are fewer) before switching"
            )
        self._report(outcome, to=to, total=total, dry_run=dry_run)

    def _migrate(
        self,
        storage_path: str,
        expected: str,
        *,
        source: Storage,
        destination: Storage,
        source_backend: str,
        outcome: Outcome,
        dry_run: bool,
    ) -> None:
        """Copy one file and check the copy, counting the outcome."""
        try:
            # A derivative has no checksum of its own in the row: its source's bytes are.
            expected = expected or checksum_in(source, storage_path) or ""
            if not expected:
                raise FileNotFoundError(storage_path)
            if checksum_in(destination, storage_path) == expected:
                outcome.already_there += 1
                return
            if dry_run:
                outcome.copied += 1
                return
            read = copy_between(source, destination, storage_path)
            if read != expected:
                outcome.failures.append(
                    f"{storage_path}: the source's SHA-256 {read} is not the row's {expected}"
                )
                return
            written = checksum_in(destination, storage_path)
            if written != read:
                outcome.failures.append(
                    f"{storage_path}: the copy reads back as {written}, not {read}"
                )
                return
            outcome.copied += 1
        except FileNotFoundError:
            outcome.failures.append(f"{storage_path}: missing in the source ({source_backend})")
        except Exception as exc:
            outcome.failures.append(f"{storage_path}: {type(exc).__name__}: {exc}")

    def _files(self) -> list[tuple[str, str]]:
        """(storage path, the SHA-256 it must have: the row's for an original, "" for a
        derivative, whose copy is checked against its source's bytes)."""
        files: list[tuple[str, str]] = []
        rows = (
            Media.objects.exclude(checksum_sha256="")
            .filter(storage_path__startswith="uploads/")
            .order_by("created_at", "pk")
            .values_list("storage_path", "checksum_sha256", "thumbnail_path", "preview_path")
        )
        for storage_path, checksum, thumbnail_path, preview_path in rows.iterator(chunk_size=1000):
            files.append((storage_path, checksum))
            files.extend((path, "") for path in (thumbnail_path, preview_path) if path)
        return files

    def _require_bucket_settings(self) -> None:
        missing = [name for name in ("S3_BUCKET",) if not getattr(settings, name)]
        if not settings.S3_ENDPOINT_URL and not settings.S3_REGION:
            missing.append("S3_ENDPOINT_URL or S3_REGION")
        if missing:
            raise CommandError(f"the bucket is not configured: set {', '.join(missing)}")

    def _report(self, outcome: Outcome, *, to: str, total: int, dry_run: bool) -> None:
        if dry_run:
            self.stdout.write(
                f"{outcome.copied} of {total} file(s) would be copied to {to} "
                f"({outcome.already_there} already there and verified)."
            )
            return
        for failure in outcome.failures:
            self.stderr.write(failure)
        self.stdout.write(
            f"{outcome.copied} file(s) copied and verified, {outcome.already_there} already "
            f"there and verified, {len(outcome.failures)} failed, of {total}."
        )
        if outcome.failures:
            raise CommandError(
                f"{len(outcome.failures)} file(s) not verified in {to}; nothing was switched. "
                "Fix them and run the command again (verified files are not copied again)."
            )
        self.stdout.write(
            f"Every file is in {to} and verified. Switch with MEDIA_STORAGE={to} and restart "
            "the services and the job worker; the source copies can then go."
        )
