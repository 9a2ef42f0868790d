from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import Session, User, fold


def user_by_login_identifier(*, identifier: str) -> User | None:
    """The account an identifier names: an email when it has an "@" (usernames cannot), a
    username otherwise; both compared folded (`fold`). None when there is no such account. The
    login throttle calls this with the raw request body, before any validation."""
    identifier = identifier.strip()
    # No account has a NUL or a lone surrogate in its names, and the database refuses both in
    # a query (PostgreSQL a NUL, every driver a string UTF-8 cannot encode): a 500.
    if not identifier or "\x00" in identifier or not _is_utf8(identifier):
        return None
    lookup = "email_folded" if "@" in identifier else "username_folded"
    return User.objects.filter(**{lookup: fold(identifier)}).first()


def username_taken(*, username: str, exclude_pk: int | None = None) -> bool:
    return _other_users(exclude_pk).filter(username_folded=fold(username)).exists()


def email_taken(*, email: str, exclude_pk: int | None = None) -> bool:
    return _other_users(exclude_pk).filter(email_folded=fold(email)).exists()


def phone_number_taken(*, phone_number: str, exclude_pk: int | None = None) -> bool:
    return _other_users(exclude_pk).filter(phone_number=phone_number).exists()


def session_list(*, user_id: int) -> QuerySet[Session]:
    """The user's live sessions (not ended, refresh token not expired), last used first."""
    return Session.objects.filter(
        user_id=user_id, ended_at__isnull=True, expires_at__gt=timezone.now()
    ).order_by("-last_used_at", "-created_at")


def session_active(*, user_id: int, session_id: str) -> bool:
    return session_list(user_id=user_id).filter(pk=session_id).exists()


def _other_users(exclude_pk: int | None) -> QuerySet[User]:
    users = User.objects.all()
    return users if exclude_pk is None else users.exclude(pk=exclude_pk)


def _is_utf8(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True
