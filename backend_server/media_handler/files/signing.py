"""Signed, expiring file URLs: the `file`, `thumbnail` and `preview` fields of a media, which
serve the bytes without an Authorization header (the mobile app loads them straight into an
image view).

A URL carries its expiry and an HMAC of the media's id, that expiry and the storage path of the
file it serves under FILE_URL_SIGNING_KEY, so it can be neither extended nor moved to another
file (nor from a media's thumbnail to its original: each has a path of its own).
"""

import hashlib
import hmac
import re
import uuid

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from media_handler.models import Media

# ASCII digits only (str.isdigit() also accepts "²", which int() refuses), and few enough for
# int() (which refuses past 4300 digits): an expiry is a Unix time.
EXPIRES_PATTERN = re.compile(r"[0-9]{1,20}")

# A page of media signs a URL per item: the view's absolute URL is built once per request, with
# this id in it, instead of a reverse() and a build_absolute_uri() per item.
_URL_TEMPLATE_ID = str(uuid.UUID(int=0))


# What a signed URL can serve, and the name of its route.
SIGNED_ROUTES = {
    "file": "media-file-signed",
    "thumbnail": "media-thumbnail-signed",
    "preview": "media-preview-signed",
}


def stored_path(media: Media, kind: str) -> str:
    """The storage name of the media's `kind` ("file", "thumbnail", "preview"); "" for none."""
    if not media.has_file:
        return ""
    if kind == "file":
        return media.storage_path
    return media.thumbnail_path if kind == "thumbnail" else media.preview_path


def file_signature(media: Media, expires: int, *, kind: str = "file") -> str:
    message = f"{media.pk}:{expires}:{stored_path(media, kind)}".encode()
    key = settings.FILE_URL_SIGNING_KEY.encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def signed_file_url(
    request: HttpRequest, media: Media, *, kind: str = "file", now: int | None = None
) -> str | None:
    """An absolute URL that serves the media's `kind` (its file, thumbnail or preview) without
    Authorization until it expires; None when the media has none.

    The expiry is rounded to a twelfth of FILE_URL_MAX_AGE_SECONDS, so a client listing the same
    media twice in a few minutes gets the same URL (and its image cache keeps working); each URL
    lives between 11/12 and all of the configured age.
    """
    if not stored_path(media, kind):
        return None
    now = int(timezone.now().timestamp()) if now is None else now
    expires, _ = signed_url_expiry(now)
    url = _signed_url_template(request, kind).replace(_URL_TEMPLATE_ID, str(media.pk))
    # Digits and hex: nothing to quote.
    return f"{url}?expires={expires}&signature={file_signature(media, expires, kind=kind)}"


def signed_url_expiry(now: float) -> tuple[int, int]:
    """The expiry of every URL signed at `now`, and the seconds until that expiry moves on."""
    max_age = settings.FILE_URL_MAX_AGE_SECONDS
    step = max(max_age // 12, 1)
    window, elapsed = divmod(int(now) + max_age, step)
    return window * step, step - elapsed


def _signed_url_template(request: HttpRequest, kind: str) -> str:
    templates: dict[str, str] | None = getattr(request, "_signed_file_url_templates", None)
    if templates is None:
        templates = {}
        request._signed_file_url_templates = templates  # type: ignore[attr-defined]
    template = templates.get(kind)
    if template is None:
        path = reverse(SIGNED_ROUTES[kind], kwargs={"media_id": _URL_TEMPLATE_ID})
        template = templates[kind] = request.build_absolute_uri(path)
    return template


def signature_is_valid(media: Media, *, expires: str, signature: str, kind: str = "file") -> bool:
    if not EXPIRES_PATTERN.fullmatch(expires) or int(expires) < timezone.now().timestamp():
        return False
    if not stored_path(media, kind):
        return False
    expected = file_signature(media, int(expires), kind=kind)
    return hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace"))
