import re
import secrets
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.utils import aware_utcnow, datetime_from_epoch

from accounts.exceptions import InvalidGrant
from accounts.mail import send_email_changed, send_password_changed, send_password_reset
from accounts.models import (
    EMAIL_FOLDED_MAX_LENGTH,
    USERNAME_FOLDED_MAX_LENGTH,
    USERNAME_MAX_LENGTH,
    Session,
    User,
    fold,
    normalize_phone_number,
)
from accounts.selectors import (
    email_taken,
    phone_number_taken,
    session_active,
    user_by_login_identifier,
    username_taken,
)
from accounts.sessions import session_refresh, session_start, sessions_end
from accounts.tokens import (
    MAX_USER_ID,
    AccessToken,
    RefreshToken,
    jwt_setting,
    session_id_claim,
    user_id_claim,
    verified_claims_ignoring_expiry,
)
from common import messages
from common.exceptions import ApplicationError

# The media service's job that removes all of a user's media (common.messages).
PURGE_USER_TASK = "media.purge_user"
PROFILE_FIELDS = ("username", "email", "first_name", "last_name", "phone_number")
_NOT_USERNAME_CHARACTERS = re.compile(r"[^\w.+-]")
# Attempts at saving a new account while concurrent registrations take the names it chose.
_SAVE_ATTEMPTS = 8


def user_create(
    *,
    email: str,
    password: str,
    first_name: str,
    last_name: str,
    username: str | None = None,
    phone_number: str | None = None,
) -> User:
    """A new account. Email, username and phone number must be free (the first two once folded,
    see accounts.models.fold); without a username, one is derived from the email's local part,
    and another tried when a concurrent registration takes it first. The password goes through
    Django's validators. Raises ApplicationError naming every field at fault."""
    is_username_derived = not username
    user = User(
        username=username or _username_from_email(email),
        email=email,
        first_name=first_name,
        last_name=last_name,
        phone_number=normalize_phone_number(phone_number),
    )
    # A derived username taken meanwhile is not the caller's fault: the save loop derives another.
    _validate(user, password=password, ignore_taken={"username"} if is_username_derived else set())
    user.set_password(password)

    for attempt in range(1, _SAVE_ATTEMPTS + 1):
        try:
            with transaction.atomic():
                user.save()
        except IntegrityError:
            # A concurrent write took a value between our check and our insert: say which, or
            # when only a derived username collided, derive another.
            fields_taken = _fields_taken(user)
            if is_username_derived and fields_taken == {"username"}:
                user.username = _username_with_suffix(email, digits=attempt + 2)
                continue
            if fields_taken:
                _validate(user)
            continue
        return user
    raise _conflict()


def user_update(*, user: User, data: dict[str, Any]) -> User:
    """The profile fields in `data` applied to `user` (never the password or the flags), with the
    same rules as at registration. Raises ApplicationError naming every field at fault."""
    changed = [field for field in PROFILE_FIELDS if field in data]
    old_address = user.email
    for field in changed:
        value = data[field]
        if field == "phone_number":
            value = normalize_phone_number(value)
        setattr(user, field, value)
    _validate(user)
    try:
        with transaction.atomic():
            user.save(update_fields=changed)
    except IntegrityError:
        _validate(user)
        raise _conflict() from None
    if old_address and fold(user.email) != fold(old_address):
        send_email_changed(user=user, old_address=old_address)
    return user


def tokens_refresh(*, refresh: str) -> dict[str, str]:
    """A new access token for a valid refresh token of a live session, with the user's claims as
    they are now (and a successor refresh token when rotation is on: accounts.sessions).
    Raises InvalidGrant (a 400, never a 401) for a bad, expired or revoked refresh token, or one
    whose session has ended."""
    try:
        token = RefreshToken(refresh)
        user_id = user_id_claim(token)
        session_id = session_id_claim(token)
    except TokenError as exc:
        raise InvalidGrant(
            f"The refresh token was refused ({_reason(exc)}); sign in again."
        ) from exc
    user = User.objects.filter(pk=user_id).first()
    if user is None or not user.is_active:
        raise InvalidGrant("No active account found for the refresh token; sign in again.")
    if session_id is not None:
        return session_refresh(token=token, user=user, session_id=session_id)

    # A token from before sessions: honoured until it expires; rotating it starts a session.
    if not jwt_setting("ROTATE_REFRESH_TOKENS"):
        return {"access": str(token.access_token_for(user))}
    try:
        with transaction.atomic():
            token.blacklist()
            return session_start(user=user)
    except ApplicationError as exc:  # the account changed as it was read (session_start)
        raise InvalidGrant("No active account found for the refresh token; sign in again.") from exc


def refresh_token_revoke(*, refresh: str) -> None:
    """Revokes a refresh token on possession (RFC 7009): whoever holds it may end it, and its
    session with it. Revoking an expired or already revoked token is a no-op; a token that is
    not one of our refresh tokens is an ApplicationError."""
    try:
        claims = verified_claims_ignoring_expiry(refresh, token_type=RefreshToken.token_type)
        session_id = session_id_claim(claims)
    except TokenError as exc:
        raise ApplicationError(
            f"The refresh token was refused ({_reason(exc)}).", code="token_not_valid"
        ) from exc
    if datetime_from_epoch(claims["exp"]) <= aware_utcnow():
        return
    # The signature was verified just above.
    RefreshToken(refresh, verify=False).blacklist()
    if session_id is not None:
        sessions_end(user_id=user_id_claim(claims), session_ids=[session_id])


def refresh_tokens_revoke_all(*, user_id: int, except_jti: str | None = None) -> int:
    """Revokes every outstanding, unexpired refresh token of a user (but `except_jti`'s)."""
    outstanding = OutstandingToken.objects.filter(
        user_id=user_id, expires_at__gt=timezone.now(), blacklistedtoken__isnull=True
    )
    if except_jti is not None:
        outstanding = outstanding.exclude(jti=except_jti)
    revoked = BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=token) for token in outstanding], ignore_conflicts=True
    )
    return len(revoked)


def user_logout(*, refresh: str | None, access: str | None) -> None:
    """Logout without ever answering 401: the refresh token given is revoked, and its session
    ends; with none, a genuine access token (expired or not) ends all of its user's sessions
    and revokes all of their refresh tokens. With nothing usable, an ApplicationError (400)."""
    if refresh:
        refresh_token_revoke(refresh=refresh)
        return
    if not access:
        raise ApplicationError(
            "Nothing to log out: send the refresh token, or the access token in the "
            "Authorization header.",
            code="logout_without_token",
        )
    try:
        claims = verified_claims_ignoring_expiry(access, token_type=AccessToken.token_type)
        user_id = user_id_claim(claims)
    except TokenError as exc:
        raise ApplicationError(
            f"The access token was refused ({_reason(exc)}).", code="token_not_valid"
        ) from exc
    user_sign_out_everywhere(user_id=user_id)


def user_sign_out_everywhere(*, user_id: int) -> None:
    """Ends every session of the user and refuses every token issued to it so far."""
    refresh_tokens_revoke_all(user_id=user_id)
    sessions_end(user_id=user_id, all_tokens=True)


def session_end(*, user: User, session_id: str) -> None:
    """Signs one of the user's devices out. Raises ApplicationError (404) when the user has no
    such live session (another user's is not found either)."""
    if not session_active(user_id=user.pk, session_id=session_id):
        raise ApplicationError("No such session.", code="not_found", status=404)
    sessions_end(user_id=user.pk, session_ids=[session_id])


def password_change(
    *, user: User, old_password: str, new_password: str, session_id: str | None
) -> None:
    """Changes the password of a signed-in user who knows the current one; every other session
    ends, the current one (`session_id`) keeps working, and the owner is told by email. Raises
    ApplicationError naming the field at fault: a wrong `old_password`, or a `new_password`
    Django's validators refuse."""
    if not user.check_password(old_password):
        raise ApplicationError(
            "The current password is wrong.",
            code="invalid",
            field_errors={"old_password": ["The current password is wrong."]},
        )
    _validate_new_password(user, new_password)
    user.set_password(new_password)
    user.save(update_fields=["password"])
    current = None
    if session_id is not None:
        current = (
            Session.objects.filter(pk=session_id).values_list("refresh_jti", flat=True).first()
        )
    refresh_tokens_revoke_all(user_id=user.pk, except_jti=current)
    sessions_end(user_id=user.pk, keep_session_id=session_id)
    send_password_changed(user=user, by_reset=False)


def password_reset_request(*, email: str) -> None:
    """Sends a reset code to the account with this email address (compared folded), if there is
    one that may sign in; the same (nothing) otherwise, so the answer tells nothing. The email
    goes out in the background (accounts.mail), so the answer takes as long either way."""
    user = user_by_login_identifier(identifier=email) if "@" in email else None
    if user is None or not user.is_active or not user.has_usable_password():
        return
    send_password_reset(
        user=user,
        uid=urlsafe_base64_encode(force_bytes(user.pk)),
        token=default_token_generator.make_token(user),
    )


def password_reset_confirm(*, uid: str, token: str, new_password: str) -> User:
    """Sets a new password with a reset code (uid and token from the email), then ends every
    session of the account and tells the owner by email. A code works once, and not after the
    password changed or it expired (PASSWORD_RESET_TIMEOUT). Raises ApplicationError naming the
    field at fault."""
    user = _user_of_reset_code(uid, token)
    _validate_new_password(user, new_password)
    user.set_password(new_password)
    user.save(update_fields=["password"])
    user_sign_out_everywhere(user_id=user.pk)
    send_password_changed(user=user, by_reset=True)
    return user


def user_delete(*, user: User, password: str) -> None:
    """Deletes the account of a user who confirms it with the password: its sessions and tokens
    end, and the media service is asked (a durable message on the job queue: `media.purge_user`)
    to remove all of the user's media, files and derivatives. The message goes out in the
    deletion's transaction, after the row is gone and before the commit: when the queue cannot
    take it, nothing is deleted and the caller may try again (ApplicationError 503). Raises
    ApplicationError for a wrong password."""
    if not user.check_password(password):
        raise ApplicationError(
            "The password is wrong.",
            code="invalid",
            field_errors={"password": ["The password is wrong."]},
        )
    user_remove(user=user)


def user_remove(*, user: User) -> None:
    """Deletes an account as user_delete does, without asking for its password (the admin's
    deletion): its sessions and tokens end, and its media are purged. Raises ApplicationError
    (503) when the job queue cannot take the purge: then nothing is deleted."""
    user_id = user.pk
    with transaction.atomic():
        # Locked first: a sign-in or refresh that would add a row of this user's waits, then
        # finds the user gone, instead of failing this deletion at its commit (foreign keys are
        # checked there) after the purge went out.
        User.objects.select_for_update().filter(pk=user_id).first()
        user_sign_out_everywhere(user_id=user_id)
        user.delete()
        # Checked now, not at the commit: the message is the last thing before it.
        connection.check_constraints(table_names=_tables_referring_to_users())
        # Last before the commit: a deletion that fails on its own (the database) sends no
        # message, so no account that stays has its media purged (the media service refuses
        # anything new for an account it purged).
        try:
            messages.publish(PURGE_USER_TASK, user_id=user_id)
        except Exception as exc:  # any broker failure: nothing is deleted
            raise ApplicationError(
                "The account cannot be deleted right now; please try again in a minute.",
                code="service_unavailable",
                status=503,
            ) from exc


def _tables_referring_to_users() -> list[str]:
    return [relation.related_model._meta.db_table for relation in User._meta.related_objects]


def _user_of_reset_code(uid: str, token: str) -> User:
    refused = ApplicationError(
        "The reset code is wrong or has expired; ask for a new one.",
        code="invalid_reset_code",
        field_errors={"token": ["The reset code is wrong or has expired; ask for a new one."]},
    )
    try:
        user_id = int(urlsafe_base64_decode(uid).decode())
    except (ValueError, UnicodeDecodeError):
        raise refused from None
    if not 1 <= user_id <= MAX_USER_ID:
        raise refused
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or not default_token_generator.check_token(user, token):
        raise refused
    return user


def _validate_new_password(user: User, password: str) -> None:
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise ApplicationError(
            "The new password was refused.",
            code="invalid",
            field_errors={"new_password": exc.messages},
        ) from exc


def _validate(
    user: User, *, password: str | None = None, ignore_taken: set[str] | frozenset = frozenset()
) -> None:
    """Every rule an account must meet before it is saved, reported together, per field (but
    whether the fields in `ignore_taken` are free)."""
    errors: dict[str, list[str]] = {}
    try:
        user.full_clean(exclude=["password"], validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if len(fold(user.username or "")) > USERNAME_FOLDED_MAX_LENGTH:
        errors.setdefault("username", []).append("The username is too long once normalised.")
    if len(fold(user.email or "")) > EMAIL_FOLDED_MAX_LENGTH:
        errors.setdefault("email", []).append("The email address is too long once normalised.")
    for field in sorted(_fields_taken(user) - ignore_taken):
        label = field.replace("_", " ")
        errors.setdefault(field, []).append(f"A user with that {label} already exists.")
    if password is not None:
        try:
            validate_password(password, user=user)
        except ValidationError as exc:
            errors["password"] = exc.messages
    if errors:
        raise ApplicationError(
            "The account's details were refused.", code="invalid", field_errors=errors
        )


def _fields_taken(user: User) -> set[str]:
    """Which of the account's unique values another account already has."""
    taken = set()
    if user.username and username_taken(username=user.username, exclude_pk=user.pk):
        taken.add("username")
    if user.email and email_taken(email=user.email, exclude_pk=user.pk):
        taken.add("email")
    if user.phone_number and phone_number_taken(phone_number=user.phone_number, exclude_pk=user.pk):
        taken.add("phone_number")
    return taken


def _conflict() -> ApplicationError:
    return ApplicationError(
        "The account was changed by another request at the same time; please try again.",
        code="conflict",
        status=409,
    )


def _username_base(email: str) -> str:
    return _NOT_USERNAME_CHARACTERS.sub("", email.rsplit("@", 1)[0])[:USERNAME_MAX_LENGTH] or "user"


def _username_from_email(email: str) -> str:
    """The email's local part, made a valid username and made free (`jane`, `jane1`, `jane2`...)."""
    base = _username_base(email)
    taken = set(
        User.objects.filter(username_folded__startswith=fold(base)).values_list(
            "username_folded", flat=True
        )
    )
    candidate, suffix = base, 0
    while fold(candidate) in taken:
        suffix += 1
        candidate = f"{base[: USERNAME_MAX_LENGTH - len(str(suffix))]}{suffix}"
    return candidate


def _username_with_suffix(email: str, *, digits: int) -> str:
    """The email's local part and a random number: registrations racing for one derived name
    each pick another, where counting up would have them collide again."""
    suffix = str(secrets.randbelow(10**digits)).zfill(digits)
    return f"{_username_base(email)[: USERNAME_MAX_LENGTH - digits]}{suffix}"


def _reason(exc: TokenError) -> str:
    return str(exc.args[0]).rstrip(".").lower() if exc.args else "token is invalid"
