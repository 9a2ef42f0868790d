"""`Idempotency-Key` on the create endpoints (IETF draft-ietf-httpapi-idempotency-key-header).

A phone that timed out on a create does not know whether it happened; it sends the same request
again with the same key. The first request with a key claims it (a row of IdempotencyKey, unique
per user and key, so two nodes racing each other cannot both claim it); its successful answer is
kept and replayed, status, body and headers, to every repeat of the same request by the same user
within IDEMPOTENCY_KEY_SECONDS, with nothing created again. A repeat with another request under
the key is a 422; a repeat while the first is still being handled is a 409. An error answer
frees the key: nothing was created, so the corrected request may use it again.
"""

import functools
import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.response import Response

from common.exceptions import ApplicationError
from media_handler.authentication import caller_id
from media_handler.files.inspection import upload_checksum
from media_handler.models import IdempotencyKey

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
# Headers of a kept answer that belong to it (a tus creation's Location and offsets).
KEPT_HEADERS = ("Location", "Upload-Offset", "Upload-Expires", "Media-Id", "Tus-Resumable")


def idempotent(
    scope: str,
    *,
    fingerprint: Callable[[Request], str] | None = None,
    body_sha256: Callable[[Request], str] | None = None,
) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
    """Make a view method (a create) honour `Idempotency-Key`. `scope` names the endpoint (both
    path layouts of one endpoint share it); `fingerprint` says what the request was (default:
    its parsed body, files by their SHA-256). A view that reads its body only after the claim
    (so the fingerprint cannot cover it) sets the body's SHA-256 on its answer
    (`answer_body_sha256`), and `body_sha256` reads and hashes a repeat's body: a repeat
    whose bytes differ is a 422, not a replay."""

    def decorate(handler: Callable[..., Response]) -> Callable[..., Response]:
        @functools.wraps(handler)
        def wrapper(view: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
            raw_key = request.headers.get(HEADER)
            if raw_key is None:
                return handler(view, request, *args, **kwargs)
            key = _parsed_key(raw_key)
            user_id = caller_id(request)
            what = (fingerprint or body_fingerprint)(request)
            digest = hashlib.sha256(f"{scope}\n{what}".encode()).hexdigest()
            claimed_at = timezone.now()
            kept = idempotency_key_claim(
                user_id=user_id, key=key, fingerprint=digest, now=claimed_at
            )
            if kept is not None:
                if (
                    kept.body_sha256
                    and body_sha256 is not None
                    and body_sha256(request) != kept.body_sha256
                ):
                    raise key_reused()
                return _replay(kept)
            try:
                response = handler(view, request, *args, **kwargs)
            except BaseException:
                idempotency_key_release(user_id=user_id, key=key, claimed_at=claimed_at)
                raise
            if response.status_code >= HTTPStatus.BAD_REQUEST:
                idempotency_key_release(user_id=user_id, key=key, claimed_at=claimed_at)
            else:
                idempotency_key_record(
                    user_id=user_id, key=key, claimed_at=claimed_at, response=response
                )
            return response

        return wrapper

    return decorate


def _parsed_key(raw_key: str) -> str:
    # The draft's form is a Structured Field string ("..."); a bare token is accepted too.
    key = raw_key.strip()
    if len(key) >= 2 and key[0] == key[-1] == '"':
        key = key[1:-1]
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable() or not key.isascii():
        raise ApplicationError(
            f"The {HEADER} header must be 1 to {MAX_KEY_LENGTH} printable ASCII characters.",
            code="invalid_idempotency_key",
        )
    return key


def body_fingerprint(request: Request) -> str:
    """The parsed body in a canonical form: fields sorted, each file as its size and SHA-256
    (hashed while it streamed in), so the same upload sent again matches."""
    data = request.data
    if hasattr(data, "lists"):
        items: Any = sorted((name, [_value(v) for v in values]) for name, values in data.lists())
    else:
        items = data
    return json.dumps(items, sort_keys=True, cls=DjangoJSONEncoder, default=str)


def _value(value: Any) -> Any:
    if isinstance(value, UploadedFile):
        return f"file:{value.size}:{upload_checksum(value)}"
    return value


def idempotency_key_claim(
    *, user_id: int, key: str, fingerprint: str, now: datetime
) -> IdempotencyKey | None:
    """Claim `key` for a new request at `now` (the claim's mark: only its holder records or
    releases it); None when claimed, else the kept answer of the request that claimed it
    first. Raises ApplicationError: 422 when the key came with another request, 409 while the
    first one is still being handled."""
    # A key past its lifetime is free again; so is a claim whose request never finished (its
    # process died): it can no longer be in flight.
    IdempotencyKey.objects.filter(
        user=user_id, key=key, created_at__lt=_expired_before(now)
    ).delete()
    IdempotencyKey.objects.filter(
        user=user_id,
        key=key,
        response_status__isnull=True,
        created_at__lt=now - timedelta(seconds=settings.IDEMPOTENCY_IN_FLIGHT_SECONDS),
    ).delete()
    for _attempt in range(3):
        try:
            with transaction.atomic():
                IdempotencyKey.objects.create(
                    user=user_id, key=key, fingerprint=fingerprint, created_at=now
                )
            return None
        except IntegrityError:
            kept = IdempotencyKey.objects.filter(user=user_id, key=key).first()
        if kept is None:  # released meanwhile: claim it again
            continue
        if kept.fingerprint != fingerprint:
            raise key_reused()
        if kept.response_status is None:
            raise ApplicationError(
                f"A request with this {HEADER} is still being handled; retry shortly.",
                code="idempotency_key_in_flight",
                status=HTTPStatus.CONFLICT,
            )
        return kept
    raise ApplicationError(
        f"A request with this {HEADER} is still being handled; retry shortly.",
        code="idempotency_key_in_flight",
        status=HTTPStatus.CONFLICT,
    )


def key_reused() -> ApplicationError:
    return ApplicationError(
        f"This {HEADER} was already used with another request; use a new key.",
        code="idempotency_key_reused",
        status=HTTPStatus.UNPROCESSABLE_ENTITY,
    )


def answer_body_sha256(response: Response, digest: str) -> None:
    """Say on `response` what the SHA-256 of the request's body was (idempotent's
    `body_sha256`), for it to be kept with the answer."""
    response.idempotency_body_sha256 = digest  # type: ignore[attr-defined]


def idempotency_key_record(
    *, user_id: int, key: str, claimed_at: datetime, response: Response
) -> None:
    """Keep the answer of the request that claimed `key` at `claimed_at`, for its repeats. A
    request that outlived IDEMPOTENCY_IN_FLIGHT_SECONDS may have lost its claim to a repeat:
    then the claim is the repeat's, and this answer is not kept over it."""
    body = json.loads(json.dumps(response.data, cls=DjangoJSONEncoder))
    headers = {name: response[name] for name in KEPT_HEADERS if response.has_header(name)}
    IdempotencyKey.objects.filter(user=user_id, key=key, created_at=claimed_at).update(
        response_status=response.status_code,
        response_body=body,
        response_headers=headers,
        body_sha256=getattr(response, "idempotency_body_sha256", ""),
    )


def idempotency_key_release(*, user_id: int, key: str, claimed_at: datetime) -> None:
    """Free `key` after a failed request: only the claim this request made."""
    IdempotencyKey.objects.filter(
        user=user_id, key=key, created_at=claimed_at, response_status__isnull=True
    ).delete()


def idempotency_keys_sweep() -> int:
    """Delete the keys past their lifetime; returns how many."""
    deleted, _ = IdempotencyKey.objects.filter(
        created_at__lt=_expired_before(timezone.now())
    ).delete()
    return deleted


def _expired_before(now):
    return now - timedelta(seconds=settings.IDEMPOTENCY_KEY_SECONDS)


def _replay(kept: IdempotencyKey) -> Response:
    response = Response(kept.response_body, status=kept.response_status)
    for name, value in kept.response_headers.items():
        response[name] = value
    response["Idempotent-Replayed"] = "true"
    return response
