"""Signed, expiring file URLs: the `file` field of a media, which serves the bytes without an
Authorization header (the mobile app loads it straight into an image view).

A URL carries its expiry and an HMAC of the media's id, that expiry and its storage path under
FILE_URL_SIGNING_KEY, so it can be neither extended nor moved to another file.
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


def file_signature(media: Media, expires: int) -> str:
    message = f"{media.pk}:{expires}:{media.storage_path}".encode()
    key = settings.FILE_URL_SIGNING_KEY.encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def signed_file_url(request: HttpRequest, media: Media, *, now: int | None = None) -> str | None:
    """An absolute URL that serves the file without Authorization until it expires.

    The expiry is rounded to a twelfth of FILE_URL_MAX_AGE_SECONDS, so a client listing the same
    media twice in a few minutes gets the same URL (and its image cache keeps working); each URL
    lives between 11/12 and all of the configured age.
    """
    if not media.has_file:
        return None
    now = int(timezone.now().timestamp()) if now is None else now
    expires, _ = signed_url_expiry(now)
    url = _signed_url_template(request).replace(_URL_TEMPLATE_ID, str(media.pk))
    # Digits and hex: nothing to quote.
    return f"{url}?expires={expires}&signature={file_signature(media, expires)}"


def signed_url_expiry(now: float) -> tuple[int, int]:
    """The expiry of every URL signed at `now`, and the seconds until that expiry moves on."""
    max_age = settings.FILE_URL_MAX_AGE_SECONDS
    step = max(max_age // 12, 1)
    window, elapsed = divmod(int(now) + max_age, step)
    return window * step, step - elapsed


def _signed_url_template(request: HttpRequest) -> str:
    template: str | None = getattr(request, "_signed_file_url_template", None)
    if template is None:
        path = reverse("media-file-signed", kwargs={"media_id": _URL_TEMPLATE_ID})
        template = request.build_absolute_uri(path)
        request._signed_file_url_template = template  # type: ignore[attr-defined]
    return template


def signature_is_valid(media: Media, *, expires: str, signature: str) -> bool:
    if not EXPIRES_PATTERN.fullmatch(expires) or int(expires) < timezone.now().timestamp():
        return False
    expected = file_signature(media, int(expires))
    return hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace"))
