from rest_framework import serializers

from accounts.models import (
    DEVICE_MAX_LENGTH,
    EMAIL_MAX_LENGTH,
    USERNAME_MAX_LENGTH,
    Session,
    User,
    username_validator,
)
from common.schema import ValidationErrorSerializer

PASSWORD_MAX_LENGTH = 128  # hashing is deliberately slow: no megabyte passwords
NAME_MAX_LENGTH = 150
# Room for the spaces and dashes people type; the stored form is checked by the model.
PHONE_NUMBER_INPUT_MAX_LENGTH = 32


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "email",
            "first_name",
            "last_name",
            "phone_number",
            "is_active",
            "is_staff",
            "date_joined",
        ]
        read_only_fields = fields


def device_name_field() -> serializers.CharField:
    return serializers.CharField(
        max_length=DEVICE_MAX_LENGTH,
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text="What the sessions list calls this device (else it is read from User-Agent).",
    )


class PasswordField(serializers.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", PASSWORD_MAX_LENGTH)
        super().__init__(
            write_only=True, trim_whitespace=False, style={"input_type": "password"}, **kwargs
        )


class RegisterSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=EMAIL_MAX_LENGTH)
    password = PasswordField()
    first_name = serializers.CharField(max_length=NAME_MAX_LENGTH)
    last_name = serializers.CharField(max_length=NAME_MAX_LENGTH)
    username = serializers.CharField(
        max_length=USERNAME_MAX_LENGTH,
        required=False,
        allow_blank=True,
        allow_null=True,
        validators=[username_validator],
        help_text="Derived from the email address when absent, blank or null.",
    )
    phone_number = serializers.CharField(
        max_length=PHONE_NUMBER_INPUT_MAX_LENGTH,
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text="International (E.164) format, e.g. +14155550123.",
    )
    device_name = device_name_field()


class LoginSerializer(serializers.Serializer):
    username = serializers.CharField(
        max_length=EMAIL_MAX_LENGTH, required=False, help_text="A username or an email address."
    )
    email = serializers.EmailField(max_length=EMAIL_MAX_LENGTH, required=False)
    password = PasswordField()
    device_name = device_name_field()

    def validate(self, attrs):
        identifier = attrs.get("email") or attrs.get("username")
        if not identifier:
            raise serializers.ValidationError(
                {"username": ["Send a username or an email address (as `username` or `email`)."]},
                code="required",
            )
        return {
            "identifier": identifier,
            "password": attrs["password"],
            "device_name": attrs.get("device_name"),
        }


class ProfileSerializer(serializers.Serializer):
    """The fields a user may change on their own profile (PUT needs the required ones)."""

    username = serializers.CharField(
        max_length=USERNAME_MAX_LENGTH, required=False, validators=[username_validator]
    )
    email = serializers.EmailField(max_length=EMAIL_MAX_LENGTH)
    first_name = serializers.CharField(max_length=NAME_MAX_LENGTH, allow_blank=True)
    last_name = serializers.CharField(max_length=NAME_MAX_LENGTH, allow_blank=True)
    phone_number = serializers.CharField(
        max_length=PHONE_NUMBER_INPUT_MAX_LENGTH, required=False, allow_blank=True, allow_null=True
    )

    def validate(self, attrs):
        if "password" in self.initial_data:
            raise serializers.ValidationError(
                {"password": ["The password cannot be changed through the profile."]}
            )
        return attrs


class SessionSerializer(serializers.ModelSerializer):
    """A signed-in device; `current` is the session of the token making the request."""

    current = serializers.SerializerMethodField()

    class Meta:
        model = Session
        fields = ["id", "device", "ip", "created_at", "last_used_at", "current"]
        read_only_fields = fields

    def get_current(self, session: Session) -> bool:
        return str(session.pk) == self.context.get("session_id")


class PasswordChangeSerializer(serializers.Serializer):
    old_password = PasswordField()
    new_password = PasswordField()


class PasswordResetSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=EMAIL_MAX_LENGTH)


class PasswordResetConfirmSerializer(serializers.Serializer):
    uid = serializers.CharField(max_length=64, help_text="From the reset email.")
    token = serializers.CharField(max_length=128, help_text="From the reset email.")
    new_password = PasswordField()


class AccountDeleteSerializer(serializers.Serializer):
    password = PasswordField(help_text="The account's password, to confirm.")


class DoneSerializer(serializers.Serializer):
    detail = serializers.CharField()
    message = serializers.CharField(help_text="The same sentence, to show a person.")


class RefreshSerializer(serializers.Serializer):
    refresh = serializers.CharField(max_length=4096)


class RefreshedSerializer(serializers.Serializer):
    """Output of a refresh: `refresh` only when rotation is on."""

    access = serializers.CharField()
    refresh = serializers.CharField(required=False)


class LogoutSerializer(serializers.Serializer):
    refresh = serializers.CharField(
        max_length=4096,
        required=False,
        allow_blank=True,
        help_text="The refresh token to revoke. Without it, the Bearer access token (even an "
        "expired one) revokes all of its user's refresh tokens.",
    )


# The error bodies, as the OpenAPI schema describes them (common.exceptions makes them).
class RefreshErrorSerializer(ValidationErrorSerializer):
    """A refused refresh token (`error` is `invalid_grant`, with `detail`), or a malformed body
    (one list of messages per field at fault)."""

    error = serializers.ChoiceField(
        choices=["invalid_grant"], required=False, help_text="As RFC 6749 §5.2."
    )


class JWKSerializer(serializers.Serializer):
    kty = serializers.CharField()
    kid = serializers.CharField()
    use = serializers.CharField()
    alg = serializers.CharField()
    n = serializers.CharField(required=False)
    e = serializers.CharField(required=False)
    crv = serializers.CharField(required=False)
    x = serializers.CharField(required=False)
    y = serializers.CharField(required=False)


class JWKSetSerializer(serializers.Serializer):
    keys = JWKSerializer(many=True)
