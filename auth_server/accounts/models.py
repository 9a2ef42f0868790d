import unicodedata
import uuid
from typing import ClassVar

from django.contrib.auth.models import AbstractUser, UserManager
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

USERNAME_MAX_LENGTH = 150
EMAIL_MAX_LENGTH = 254
PHONE_NUMBER_MAX_LENGTH = 16  # "+" and at most 15 digits (E.164)
# Folding can lengthen a name ("ß" → "ss", "ﬃ" → "ffi"); past twice the length it is refused.
USERNAME_FOLDED_MAX_LENGTH = 2 * USERNAME_MAX_LENGTH
EMAIL_FOLDED_MAX_LENGTH = 2 * EMAIL_MAX_LENGTH

# No "@": an identifier with one is an email, so login by username or email is never ambiguous.
username_validator = RegexValidator(
    r"^[\w.+-]+\Z",
    "Enter a valid username: letters, digits and . + - _ only.",
    code="invalid_username",
)
phone_number_validator = RegexValidator(
    r"^\+[1-9][0-9]{6,14}\Z",  # ASCII digits only: "٤" is a digit to \d
    "Enter a phone number in international format, e.g. +14155550123.",
    code="invalid_phone_number",
)

# Spaces, dashes, dots and brackets people type between the digits of a phone number.
_PHONE_NUMBER_PUNCTUATION = str.maketrans("", "", " -.()\t")


def fold(value: str) -> str:
    """The form in which two names are the same account: Unicode NFKC, full case folding, NFKC
    again (folding can leave text unnormalised). `STRAẞE`, `straße` and `strasse` in fullwidth
    letters are all `strasse`: one rule, computed here, so SQLite and PostgreSQL agree."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", value).casefold())


def normalize_phone_number(value: str | None) -> str | None:
    """`+1 (415) 555-0123` → `+14155550123`; blank → None (stored as NULL, never "")."""
    if value is None:
        return None
    value = value.strip().translate(_PHONE_NUMBER_PUNCTUATION)
    if value.startswith("00"):
        value = "+" + value[2:]
    return value or None


class AccountManager(UserManager["User"]):
    def get_by_natural_key(self, username):
        # Usernames are unique once folded, so they are looked up that way too.
        return self.get(username_folded=fold(username))


class User(AbstractUser):
    """An account. Email and username are unique once folded (`fold`: NFKC and case folding),
    in the database too, through the folded copies kept beside them; the phone number is
    optional, unique when given, and stored in E.164 form or as NULL."""

    username = models.CharField(
        "username",
        max_length=USERNAME_MAX_LENGTH,
        unique=True,
        validators=[username_validator],
        help_text="150 characters or fewer: letters, digits and . + - _ only.",
        error_messages={"unique": "A user with that username already exists."},
    )
    email = models.EmailField("email address", max_length=EMAIL_MAX_LENGTH)
    # Derived from username and email on every save (never edited): what uniqueness and login
    # compare.
    username_folded = models.CharField(
        max_length=USERNAME_FOLDED_MAX_LENGTH, unique=True, editable=False
    )
    email_folded = models.CharField(max_length=EMAIL_FOLDED_MAX_LENGTH, unique=True, editable=False)
    phone_number = models.CharField(
        "phone number",
        max_length=PHONE_NUMBER_MAX_LENGTH,
        unique=True,
        null=True,
        blank=True,
        validators=[phone_number_validator],
        error_messages={"unique": "A user with that phone number already exists."},
    )

    objects: ClassVar[AccountManager] = AccountManager()

    REQUIRED_FIELDS = ["email"]

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(phone_number=""),
                name="accounts_user_phone_number_null_not_blank",
                violation_error_message="Store a missing phone number as NULL.",
            ),
        ]

    def clean(self):
        super().clean()
        self.phone_number = normalize_phone_number(self.phone_number)
        self.fold_names()

    def save(self, *args, **kwargs):
        # Every way an account is written (services, the admin, createsuperuser) keeps the
        # folded copies in step with the names they are folded from.
        self.fold_names()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            derived = {"username": "username_folded", "email": "email_folded"}
            kwargs["update_fields"] = {
                *update_fields,
                *(derived[name] for name in update_fields if name in derived),
            }
        super().save(*args, **kwargs)

    def fold_names(self) -> None:
        self.username_folded = fold(self.username or "")
        self.email_folded = fold(self.email or "")


DEVICE_MAX_LENGTH = 200


class Session(models.Model):
    """A signed-in device: one per sign-in (and registration). Its refresh token, and every
    access token made from it, carry its id (`sid`). Ending it (`ended_at`) refuses its refresh
    token at once and its access tokens at the media service within seconds (revocation marks,
    common.revocation).

    The refresh token in force is recorded (`refresh_jti`, its `refresh_iat` and `expires_at`:
    enough to sign it again). With rotation on, a refresh replaces it and records the one it
    replaced (`previous_refresh_jti`, `rotated_at`): presented again within the grace window,
    that one gets the same successor; later, it ends the session (reuse)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="sessions")
    device = models.CharField(max_length=DEVICE_MAX_LENGTH, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    refresh_jti = models.CharField(max_length=64)
    refresh_iat = models.BigIntegerField()
    previous_refresh_jti = models.CharField(max_length=64, blank=True)
    rotated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "ended_at"], name="accounts_session_user_open")]

    def __str__(self) -> str:
        return f"{self.device or 'device'} ({self.user_id})"

    @property
    def is_active(self) -> bool:
        return self.ended_at is None and self.expires_at > timezone.now()
