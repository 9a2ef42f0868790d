"""The change feed (SPEC.md, "Change feed"): what changed in a user's media and collections
since a phone last looked.

Every write of the services records a Change (`change_record`, inside the write's transaction)
with the next `seq` of its owner's FeedPosition, whose row it holds locked until it commits: a
user's changes commit in `seq` order, so a cursor (the last `seq` a client has) never skips a
change that commits late. A page names each object once, as it is *now*: an `upsert` with the
object as the retrieve endpoint shows it, or a `delete` (object null) once it is gone for good.
A client that applies the pages in order ends with the server's state.

Without a cursor the feed starts with the current state (every collection, then every media,
the trash included), page by page, then goes on with the changes made since it began. A cursor
is opaque to clients (base64 of JSON: the `seq`, when it was issued and, while the state is
being sent, where it stands); one issued longer ago than CHANGE_FEED_RETENTION_SECONDS may
point at changes already pruned, and is refused with a 410.
"""

import base64
import binascii
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone

from common.exceptions import ApplicationError
from media_handler import selectors
from media_handler.models import (
    Change,
    ChangeKind,
    ChangeOp,
    Collection,
    FeedPosition,
    Media,
)

DEFAULT_LIMIT = 100
MAX_LIMIT = 500
# The state is sent collections first: a media's `collection` then names one the client has.
SNAPSHOT_ORDER = (ChangeKind.COLLECTION, ChangeKind.MEDIA)
# Pruning waits this much longer than a cursor lives: a change recorded (its `at`) just before a
# cursor was issued may commit just after.
PRUNE_MARGIN = timedelta(hours=1)


def change_record(
    *, user_id: int, kind: str, object_ids: Iterable[uuid.UUID], op: str = ChangeOp.UPSERT
) -> None:
    """Record a change of each object, in the caller's transaction (one is opened if there is
    none): the change is in the feed exactly when the write has committed."""
    changes_record(user_id=user_id, changes=[(kind, object_id, op) for object_id in object_ids])


def changes_record(*, user_id: int, changes: list[tuple[str, uuid.UUID, str]]) -> None:
    """Record `changes` ((kind, object id, op) each) of one user's objects, in this order;
    three queries in the caller's transaction."""
    if not changes:
        return
    with transaction.atomic(savepoint=False):
        position = position_lock(user_id=user_id)
        now = timezone.now()
        Change.objects.bulk_create(
            Change(
                user=user_id,
                seq=position.seq + number,
                kind=kind,
                object_id=object_id,
                op=op,
                at=now,
            )
            for number, (kind, object_id, op) in enumerate(changes, start=1)
        )
        position.seq += len(changes)
        position.save(update_fields=["seq"])


def position_lock(*, user_id: int) -> FeedPosition:
    """The user's FeedPosition (made on their first change), locked until the caller's
    transaction ends: every write of theirs holds it while it commits."""
    position = FeedPosition.objects.select_for_update().filter(user=user_id).first()
    if position is None:  # the user's first change
        FeedPosition.objects.bulk_create([FeedPosition(user=user_id)], ignore_conflicts=True)
        position = FeedPosition.objects.select_for_update().get(user=user_id)
    return position


def changes_forget_user(*, user_id: int) -> None:
    """The account is gone: its feed goes too."""
    Change.objects.filter(user=user_id).delete()
    FeedPosition.objects.filter(user=user_id).delete()


def changes_prune() -> int:
    """Delete the changes older than any cursor still served; returns how many."""
    cutoff = timezone.now() - timedelta(seconds=settings.CHANGE_FEED_RETENTION_SECONDS)
    deleted, _ = Change.objects.filter(at__lt=cutoff - PRUNE_MARGIN).delete()
    return deleted


@dataclass
class FeedCursor:
    seq: int
    issued: int
    # While the current state is being sent: the kind and the last id sent.
    snapshot: tuple[str, str] | None = None

    def encode(self) -> str:
        data: dict[str, Any] = {"s": self.seq, "t": self.issued}
        if self.snapshot is not None:
            data["p"] = list(self.snapshot)
        raw = json.dumps(data, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@dataclass
class FeedEntry:
    kind: str
    object_id: uuid.UUID
    at: datetime
    obj: Media | Collection | None


@dataclass
class FeedPage:
    entries: list[FeedEntry] = field(default_factory=list)
    cursor: str = ""
    has_more: bool = False


def cursor_decode(text: str) -> FeedCursor:
    """Raises ApplicationError: 400 for a cursor this service did not make, 410 for one too
    old to serve."""
    try:
        data = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        cursor = FeedCursor(seq=int(data["s"]), issued=int(data["t"]))
        if "p" in data:
            kind, last_id = data["p"]
            if kind not in SNAPSHOT_ORDER:
                raise ValueError(kind)
            cursor.snapshot = (kind, str(uuid.UUID(last_id)) if last_id else "")
    except (ValueError, TypeError, KeyError, binascii.Error, UnicodeDecodeError) as exc:
        raise ApplicationError(
            "This cursor is not one the change feed gave out.", code="invalid", field="since"
        ) from exc
    if cursor.seq < 0:
        raise ApplicationError(
            "This cursor is not one the change feed gave out.", code="invalid", field="since"
        )
    too_old = timezone.now() - timedelta(seconds=settings.CHANGE_FEED_RETENTION_SECONDS)
    if cursor.issued < too_old.timestamp():
        raise cursor_expired()
    return cursor


def cursor_expired() -> ApplicationError:
    return ApplicationError(
        "This cursor is too old: some changes since it are no longer kept. Start again "
        "without `since` to get the current state.",
        code="cursor_expired",
        status=HTTPStatus.GONE,
    )


def changes_page(*, user_id: int, since: str | None, limit: int = DEFAULT_LIMIT) -> FeedPage:
    """The next page of the owner's feed after the cursor `since` (from the start: the current
    state). Raises ApplicationError for a bad or expired cursor (cursor_decode)."""
    now = int(timezone.now().timestamp())
    if not since:
        position = FeedPosition.objects.filter(user=user_id).values_list("seq", flat=True).first()
        cursor = FeedCursor(seq=position or 0, issued=now, snapshot=(SNAPSHOT_ORDER[0], ""))
    else:
        cursor = cursor_decode(since)
    if cursor.snapshot is not None:
        return _snapshot_page(user_id=user_id, cursor=cursor, limit=limit, now=now)
    return _changes_page(user_id=user_id, cursor=cursor, limit=limit, now=now)


def _snapshot_page(*, user_id: int, cursor: FeedCursor, limit: int, now: int) -> FeedPage:
    assert cursor.snapshot is not None
    kind, last_id = cursor.snapshot
    page = FeedPage()
    for current_kind in SNAPSHOT_ORDER[SNAPSHOT_ORDER.index(kind) :]:
        objects = _owned(user_id, current_kind).order_by("pk")
        if current_kind == kind and last_id:
            objects = objects.filter(pk__gt=last_id)
        wanted = limit - len(page.entries)
        batch = list(objects[: wanted + 1])
        sent = batch[:wanted]
        page.entries.extend(
            FeedEntry(kind=current_kind, object_id=obj.pk, at=obj.updated_at, obj=obj)
            for obj in sent
        )
        if len(batch) > wanted:  # more of this kind: the next page goes on from here
            resume_id = str(sent[-1].pk) if sent else (last_id if current_kind == kind else "")
            page.cursor = FeedCursor(
                seq=cursor.seq, issued=now, snapshot=(current_kind, resume_id)
            ).encode()
            page.has_more = True
            return page
    page.cursor = FeedCursor(seq=cursor.seq, issued=now).encode()
    # The state is sent; the changes made meanwhile follow, unless some were pruned already.
    first = Change.objects.filter(user=user_id, seq__gt=cursor.seq).order_by("seq").first()
    _check_nothing_pruned(user_id=user_id, cursor=cursor, changes=[first] if first else [])
    page.has_more = first is not None
    return page


def _changes_page(*, user_id: int, cursor: FeedCursor, limit: int, now: int) -> FeedPage:
    changes = list(
        Change.objects.filter(user=user_id, seq__gt=cursor.seq).order_by("seq")[: limit + 1]
    )
    _check_nothing_pruned(user_id=user_id, cursor=cursor, changes=changes)
    has_more = len(changes) > limit
    changes = changes[:limit]
    # Each object once, where its latest change in the page stands.
    latest: dict[tuple[str, uuid.UUID], Change] = {}
    for change in changes:
        latest.pop((change.kind, change.object_id), None)
        latest[(change.kind, change.object_id)] = change
    found: dict[tuple[str, uuid.UUID], Any] = {}
    for kind in SNAPSHOT_ORDER:
        ids = [object_id for (k, object_id) in latest if k == kind]
        if ids:
            found.update(((kind, obj.pk), obj) for obj in _owned(user_id, kind).filter(pk__in=ids))
    entries = [
        FeedEntry(
            kind=change.kind,
            object_id=change.object_id,
            at=change.at,
            obj=found.get((change.kind, change.object_id)),
        )
        for change in latest.values()
    ]
    seq = changes[-1].seq if changes else cursor.seq
    return FeedPage(
        entries=entries, cursor=FeedCursor(seq=seq, issued=now).encode(), has_more=has_more
    )


def _check_nothing_pruned(*, user_id: int, cursor: FeedCursor, changes: list[Change]) -> None:
    """Raises ApplicationError (410) when a change after the cursor was pruned. A cursor is
    stamped when issued, but the changes after it are pruned by their own age: one issued
    mid-way through a long backlog (a page with `has_more`, or the state sent page by page)
    can outlive the changes it has yet to read; and the age is the nodes' clocks', so a hole
    may open inside a page too. A user's `seq` has no gaps (each is taken under the lock on
    their FeedPosition, and a rolled-back write takes its numbers back), so `changes` (the
    next ones, in order) run from `cursor.seq + 1` without a hole, or there is none yet."""
    if changes:
        pruned = changes[-1].seq != cursor.seq + len(changes)
    else:
        # None found, but the user's position is past the cursor: those changes had committed
        # (with the position) before it was read, so unless one is found now (committed after
        # the first look), they were pruned.
        position = FeedPosition.objects.filter(user=user_id).values_list("seq", flat=True).first()
        pruned = (position or 0) > cursor.seq and not (
            Change.objects.filter(user=user_id, seq__gt=cursor.seq).exists()
        )
    if pruned:
        raise cursor_expired()


def _owned(user_id: int, kind: str):
    if kind == ChangeKind.MEDIA:
        return Media.objects.filter(user=user_id)
    # As the retrieve endpoint shows a collection: its count and its live media.
    live_media = Media.objects.filter(user=user_id, is_deleted=False).order_by("-created_at", "-id")
    return selectors.collection_list(user_id=user_id).prefetch_related(
        Prefetch("media", queryset=live_media, to_attr="live_media")
    )
