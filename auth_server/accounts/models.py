from typing import ClassVar

from django.contrib.auth.models import AbstractUser, UserManager
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower

USERNAME_MAX_LENGTH = 150
PHONE_NUMBER_MAX_LENGTH = 16  # "+" and at most 15 digits (E.164)

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
        # Usernames are unique case-insensitively, so they are looked up that way too.
        return self.get(username__iexact=username)


class User(AbstractUser):
    """An account. Email and username are unique case-insensitively (in the database, too);
    the phone number is optional, unique when given, and stored in E.164 form or as NULL."""

    username = models.CharField(
        "username",
        max_length=USERNAME_MAX_LENGTH,
        unique=True,
        validators=[username_validator],
        help_text="150 characters or fewer: letters, digits and . + - _ only.",
        error_messages={"unique": "A user with that username already exists."},
    )
    email = models.EmailField("email address")
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
            models.UniqueConstraint(
                Lower("email"),
                name="accounts_user_email_ci_unique",
                violation_error_message="A user with that email already exists.",
            ),
            models.UniqueConstraint(
                Lower("username"),
                name="accounts_user_username_ci_unique",
                violation_error_message="A user with that username already exists.",
            ),
            models.CheckConstraint(
                condition=~models.Q(phone_number=""),
                name="accounts_user_phone_number_null_not_blank",
                violation_error_message="Store a missing phone number as NULL.",
            ),
        ]

    def clean(self):
        super().clean()
        self.phone_number = normalize_phone_number(self.phone_number)
