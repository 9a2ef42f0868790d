import re
import secrets
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.utils import aware_utcnow, datetime_from_epoch

from accounts.exceptions import InvalidGrant
from accounts.models import (
    EMAIL_FOLDED_MAX_LENGTH,
    USERNAME_FOLDED_MAX_LENGTH,
    USERNAME_MAX_LENGTH,
    User,
    fold,
    normalize_phone_number,
)
from accounts.selectors import email_taken, phone_number_taken, username_taken
from accounts.tokens import (
    AccessToken,
    RefreshToken,
    jwt_setting,
    user_id_claim,
    verified_claims_ignoring_expiry,
)
from common.exceptions import ApplicationError

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
    return user


def tokens_for_user(*, user: User) -> dict[str, str]:
    refresh = RefreshToken.for_user(user)
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


def tokens_refresh(*, refresh: str) -> dict[str, str]:
    """A new access token for a valid refresh token (and a new refresh token when rotation is
    on, the old one then revoked). The access token carries the user's claims as they are now.
    Raises InvalidGrant (a 400, never a 401) for a bad, expired or revoked refresh token."""
    try:
        token = RefreshToken(refresh)
    except TokenError as exc:
        raise InvalidGrant(
            f"The refresh token was refused ({_reason(exc)}); sign in again."
        ) from exc
    try:
        user_id = user_id_claim(token)
    except TokenError as exc:
        raise InvalidGrant(f"The refresh token was refused ({_reason(exc)}).") from exc
    user = User.objects.filter(pk=user_id).first()
    if user is None or not user.is_active:
        raise InvalidGrant("No active account found for the refresh token; sign in again.")

    data = {"access": str(token.access_token_for(user))}
    if jwt_setting("ROTATE_REFRESH_TOKENS"):
        with transaction.atomic():
            if jwt_setting("BLACKLIST_AFTER_ROTATION"):
                token.blacklist()
            data["refresh"] = str(RefreshToken.for_user(user))
    return data


def refresh_token_revoke(*, refresh: str) -> None:
    """Revokes a refresh token on possession (RFC 7009): whoever holds it may end it. Revoking an
    expired or already revoked token is a no-op; a token that is not one of our refresh tokens
    is an ApplicationError."""
    try:
        claims = verified_claims_ignoring_expiry(refresh, token_type=RefreshToken.token_type)
    except TokenError as exc:
        raise ApplicationError(
            f"The refresh token was refused ({_reason(exc)}).", code="token_not_valid"
        ) from exc
    if datetime_from_epoch(claims["exp"]) <= aware_utcnow():
        return
    # The signature was verified just above.
    RefreshToken(refresh, verify=False).blacklist()


def refresh_tokens_revoke_all(*, user_id: int) -> int:
    """Revokes every outstanding, unexpired refresh token of a user; returns how many."""
    outstanding = OutstandingToken.objects.filter(
        user_id=user_id, expires_at__gt=timezone.now(), blacklistedtoken__isnull=True
    )
    revoked = BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=token) for token in outstanding], ignore_conflicts=True
    )
    return len(revoked)


def user_logout(*, refresh: str | None, access: str | None) -> None:
    """Logout without ever answering 401: the refresh token given is revoked; with none, a
    genuine access token (expired or not) revokes all of its user's refresh tokens. With
    nothing usable, an ApplicationError (400)."""
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
    except TokenError as exc:
        raise ApplicationError(
            f"The access token was refused ({_reason(exc)}).", code="token_not_valid"
        ) from exc
    refresh_tokens_revoke_all(user_id=user_id_claim(claims))


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
