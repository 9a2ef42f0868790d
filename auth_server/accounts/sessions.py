"""Sessions: one per sign-in, named by the `sid` claim of its tokens (accounts.models.Session).
Starting one, refreshing its tokens (with rotation, when on), and ending sessions, which publishes
the revocation marks the media service checks tokens against (common.revocation)."""

import functools
import ipaddress
import uuid
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.throttling import BaseThrottle
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
from rest_framework_simplejwt.utils import datetime_from_epoch

from accounts.exceptions import InvalidGrant
from accounts.models import DEVICE_MAX_LENGTH, Session, User
from accounts.tokens import RefreshToken, jwt_setting
from common import revocation
from common.exceptions import ApplicationError

# `last_used_at` is written at most this often per session: a refresh is not worth a write each.
LAST_USED_PRECISION = timedelta(minutes=1)


def session_start(
    *, user: User, device_name: str | None = None, user_agent: str = "", ip: str | None = None
) -> dict[str, str]:
    """Signs `user` in on a new session; returns its access and refresh tokens. Raises
    ApplicationError (400 `invalid_credentials`, as a wrong password) when the account changed
    since `user` was read (its password checked): deleted, deactivated, or its password changed
    by a reset or change that ended every session."""
    session_id = str(uuid.uuid4())
    with transaction.atomic():
        # The user's row locked, as a password change (its UPDATE) and a deletion lock it:
        # either one of them committed first and is seen here, or it waits for this session,
        # which it then ends (or deletes). Without the lock, a sign-in that checked the old
        # password just before a reset kept a session the reset never saw.
        now = User.objects.select_for_update().filter(pk=user.pk)
        if now.values_list("password", "is_active").first() != (user.password, True):
            raise ApplicationError(
                "No active account found with the given credentials.", code="invalid_credentials"
            )
        refresh = RefreshToken.for_user(user, session_id=session_id)  # recorded as outstanding
        Session.objects.create(
            id=session_id,
            user=user,
            device=device_label(device_name=device_name, user_agent=user_agent),
            ip=ip,
            expires_at=datetime_from_epoch(refresh["exp"]),
            refresh_jti=refresh[jwt_setting("JTI_CLAIM")],
            refresh_iat=refresh["iat"],
        )
    return {"access": str(refresh.access_token_for(user)), "refresh": str(refresh)}


def session_refresh(*, token: RefreshToken, user: User, session_id: str) -> dict[str, str]:
    """A new access token for a verified refresh token of a live session, and with rotation on
    a successor refresh token, replacing it atomically (a conditional update: one of many
    concurrent refreshes wins, the others read its result). A replaced token presented within
    JWT_ROTATION_GRACE_SECONDS gets the same successor; presented later, or any older token of
    the session, it ends the session (the token was stolen, or the client is confused).
    Raises InvalidGrant for an ended session or a reused token."""
    jti = token[jwt_setting("JTI_CLAIM")]
    for _attempt in range(2):
        session = Session.objects.filter(pk=session_id, user=user).first()
        if session is None or session.ended_at is not None:
            raise InvalidGrant("The session has ended; sign in again.")
        now = timezone.now()
        if jti == session.refresh_jti:
            if not jwt_setting("ROTATE_REFRESH_TOKENS"):
                _touch(session, now)
                return {"access": str(token.access_token_for(user))}
            rotated = _rotate(session, user=user, now=now)
            if rotated is not None:
                return rotated
            continue  # a concurrent refresh rotated it first: read what it did
        if jti == session.previous_refresh_jti and _within_grace(session, now):
            _touch(session, now)
            successor = _recorded_refresh_token(session, user=user)
            return {"access": str(successor.access_token_for(user)), "refresh": str(successor)}
        sessions_end(user_id=user.pk, session_ids=[session_id])
        raise InvalidGrant(
            "The refresh token was replaced earlier and used again; the session has ended for "
            "safety. Sign in again."
        )
    raise InvalidGrant("The refresh token changed while it was being used; try again.")


def sessions_end(
    *,
    user_id: int,
    session_ids: Iterable[str] | None = None,
    keep_session_id: str | None = None,
    all_tokens: bool = False,
) -> int:
    """Ends the user's live sessions (those in `session_ids`, else all but `keep_session_id`):
    their refresh tokens are refused from now on, and the revocation marks published once the
    transaction commits make the media service refuse their access tokens within seconds. With
    `all_tokens`, a mark for the user refuses every token issued before this second too (those
    from before sessions). Returns how many sessions ended."""
    # A session past its refresh expiry can still have a live access token, for its lifetime.
    recent = timezone.now() - jwt_setting("ACCESS_TOKEN_LIFETIME")
    sessions = Session.objects.filter(user_id=user_id, ended_at__isnull=True, expires_at__gt=recent)
    if session_ids is not None:
        sessions = sessions.filter(pk__in=list(session_ids))
    if keep_session_id is not None:
        sessions = sessions.exclude(pk=keep_session_id)
    ended = [str(pk) for pk in sessions.values_list("pk", flat=True)]
    if ended:
        Session.objects.filter(pk__in=ended, ended_at__isnull=True).update(ended_at=timezone.now())
    marks = revocation.marks_for(session_ids=ended, user_ids=[user_id] if all_tokens else [])
    transaction.on_commit(functools.partial(revocation.publish, marks))
    return len(ended)


def device_label(*, device_name: str | None, user_agent: str) -> str:
    """What the sessions list calls a device: the name the app gave at sign-in, else what the
    User-Agent says (`Chrome 120 on Windows 10`, `Mobile Safari 17 on iOS 17 (iPhone)`)."""
    if device_name and device_name.strip():
        return device_name.strip()[:DEVICE_MAX_LENGTH]
    if not user_agent:
        return ""
    from ua_parser import parse  # loads its rules on first use: only when a session starts

    parsed = parse(user_agent[:1024])
    parts = []
    if parsed.user_agent:
        parts.append(_with_major(parsed.user_agent.family, parsed.user_agent.major))
    if parsed.os:
        parts.append(f"on {_with_major(parsed.os.family, parsed.os.major)}")
    if parsed.device and parsed.device.family not in {"Other", "Spider"}:
        parts.append(f"({parsed.device.family})")
    return (" ".join(parts) or user_agent)[:DEVICE_MAX_LENGTH]


def client_address(request) -> str | None:
    """The client's address as the throttles see it (behind the gateway, the one it saw)."""
    ident = BaseThrottle().get_ident(request)
    try:
        return str(ipaddress.ip_address(ident))
    except ValueError:
        return None


def _with_major(family: str, major: str | None) -> str:
    return f"{family} {major}" if major else family


def _touch(session: Session, now) -> None:
    if now - session.last_used_at >= LAST_USED_PRECISION:
        Session.objects.filter(pk=session.pk).update(last_used_at=now)


def _within_grace(session: Session, now) -> bool:
    grace = timedelta(seconds=settings.JWT_ROTATION_GRACE_SECONDS)
    return session.rotated_at is not None and now - session.rotated_at <= grace


def _rotate(session: Session, *, user: User, now) -> dict[str, str] | None:
    successor = RefreshToken()
    successor_jti = successor[jwt_setting("JTI_CLAIM")]
    won = Session.objects.filter(
        pk=session.pk, refresh_jti=session.refresh_jti, ended_at__isnull=True
    ).update(
        refresh_jti=successor_jti,
        refresh_iat=successor["iat"],
        expires_at=datetime_from_epoch(successor["exp"]),
        previous_refresh_jti=session.refresh_jti,
        rotated_at=now,
        last_used_at=now,
    )
    if not won:
        return None
    session.refresh_jti = successor_jti
    session.refresh_iat = successor["iat"]
    session.expires_at = datetime_from_epoch(successor["exp"])
    token = _recorded_refresh_token(session, user=user)
    try:
        with transaction.atomic():
            OutstandingToken.objects.create(
                user=user,
                jti=successor_jti,
                token=str(token),
                created_at=now,
                expires_at=session.expires_at,
            )
    except IntegrityError as exc:  # the account was deleted since the session was read
        raise InvalidGrant("No active account found for the refresh token; sign in again.") from exc
    return {"access": str(token.access_token_for(user)), "refresh": str(token)}


def _recorded_refresh_token(session: Session, *, user: User) -> RefreshToken:
    return RefreshToken.signed_again(
        user=user,
        session_id=str(session.pk),
        jti=session.refresh_jti,
        iat=session.refresh_iat,
        exp=int(session.expires_at.timestamp()),
    )
