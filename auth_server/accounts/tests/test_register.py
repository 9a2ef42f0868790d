import pytest

from accounts.models import User
from accounts.tests.factories import UserFactory
from accounts.tokens import AccessToken, RefreshToken
from common.testing import assert_status

URL = "/api/auth/register/"
SEED_EXAMPLE = {
    "username": "jane",
    "email": "jane@example.com",
    "password": "strongpassword",
    "first_name": "Jane",
    "last_name": "Doe",
}
MOBILE_APP = {
    "first_name": "Jane",
    "last_name": "Doe",
    "email": "jane@example.com",
    "password": "strongpassword",
}
USER_FIELDS = {
    "id",
    "username",
    "email",
    "first_name",
    "last_name",
    "phone_number",
    "is_active",
    "is_staff",
    "date_joined",
}

pytestmark = pytest.mark.django_db


def test_seed_example_registers_and_signs_in(post_json):
    response = post_json(URL, SEED_EXAMPLE)

    assert_status(response, 201)
    body = response.json()
    assert set(body) == {"user", "access", "refresh"}
    assert set(body["user"]) == USER_FIELDS
    assert body["user"]["username"] == "jane"
    assert body["user"]["email"] == "jane@example.com"
    assert body["user"]["phone_number"] is None
    assert body["user"]["is_active"] is True
    assert body["user"]["is_staff"] is False
    assert AccessToken(body["access"])["user_id"] == body["user"]["id"]
    assert RefreshToken(body["refresh"])["user_id"] == body["user"]["id"]
    assert User.objects.get(pk=body["user"]["id"]).check_password("strongpassword")


def test_token_answers_are_not_cached(post_json):
    response = post_json(URL, SEED_EXAMPLE)

    assert response["Cache-Control"] == "no-store"


def test_mobile_app_registers_without_username_and_gets_one_from_the_email(post_json):
    response = post_json(URL, MOBILE_APP)

    assert_status(response, 201)
    assert response.json()["user"]["username"] == "jane"


@pytest.mark.parametrize("unset", ["", None])
def test_blank_or_null_username_is_derived_from_the_email(post_json, unset):
    response = post_json(URL, {**MOBILE_APP, "username": unset})

    assert_status(response, 201)
    assert response.json()["user"]["username"] == "jane"


def test_derived_username_is_made_unique_case_insensitively(post_json):
    UserFactory(username="Jane", email="other@example.com")
    UserFactory(username="jane1", email="third@example.com")

    response = post_json(URL, MOBILE_APP)

    assert_status(response, 201)
    assert response.json()["user"]["username"] == "jane2"


def test_derived_username_keeps_only_username_characters(post_json):
    response = post_json(URL, {**MOBILE_APP, "email": "o'brien+news@example.com"})

    assert_status(response, 201)
    assert response.json()["user"]["username"] == "obrien+news"


@pytest.mark.parametrize("existing", ["jane@example.com", "JANE@Example.COM"])
def test_duplicate_email_in_any_case_is_400_naming_email(post_json, existing):
    UserFactory(username="someone", email=existing)

    response = post_json(URL, {**SEED_EXAMPLE, "email": "Jane@EXAMPLE.com"})

    assert_status(response, 400)
    body = response.json()
    assert body["email"] == ["A user with that email already exists."]
    assert body["code"] == "invalid"
    assert body["message"] == "email: A user with that email already exists."
    assert User.objects.count() == 1


def test_duplicate_username_in_another_case_is_400_naming_username(post_json):
    UserFactory(username="jane", email="first@example.com")

    response = post_json(URL, {**SEED_EXAMPLE, "username": "JANE"})

    assert_status(response, 400)
    assert response.json()["username"] == ["A user with that username already exists."]


def test_email_domain_is_stored_lower_case(post_json):
    response = post_json(URL, {**MOBILE_APP, "email": "Jane@Example.COM"})

    assert_status(response, 201)
    assert response.json()["user"]["email"] == "Jane@example.com"


def test_phone_number_is_normalised_to_e164(post_json):
    response = post_json(URL, {**MOBILE_APP, "phone_number": "+1 (415) 555-0123"})

    assert_status(response, 201)
    assert response.json()["user"]["phone_number"] == "+14155550123"


@pytest.mark.parametrize("blank", ["", "   ", None])
def test_blank_phone_number_is_stored_as_null(post_json, blank):
    UserFactory(username="other", email="other@example.com", phone_number=None)

    response = post_json(URL, {**MOBILE_APP, "phone_number": blank})

    assert_status(response, 201)
    assert User.objects.get(email="jane@example.com").phone_number is None


@pytest.mark.parametrize(
    "phone_number",
    # The last one has an Arabic-Indic 4: it would make a second account for the same number.
    ["4155550123", "+0415555012", "+1-call-me", "+1234", "+1\u0664155550123"],
)
def test_bad_phone_number_is_400_naming_phone_number(post_json, phone_number):
    response = post_json(URL, {**MOBILE_APP, "phone_number": phone_number})

    assert_status(response, 400)
    assert "phone_number" in response.json()
    assert not User.objects.exists()


def test_duplicate_phone_number_is_400_naming_phone_number(post_json):
    UserFactory(username="other", email="other@example.com", phone_number="+14155550123")

    response = post_json(URL, {**MOBILE_APP, "phone_number": "+1 415 555 0123"})

    assert_status(response, 400)
    assert response.json()["phone_number"] == ["A user with that phone number already exists."]


@pytest.mark.parametrize(
    ("password", "complaint"),
    [
        ("short1", "too short"),
        ("84736251903", "entirely numeric"),
        ("jane@example.com", "too similar"),
        ("password", "too common"),
    ],
)
def test_weak_password_is_400_naming_password(post_json, password, complaint):
    response = post_json(URL, {**SEED_EXAMPLE, "password": password})

    assert_status(response, 400)
    assert complaint in " ".join(response.json()["password"])
    assert not User.objects.exists()


def test_every_field_at_fault_is_reported_at_once(post_json):
    UserFactory(username="jane", email="jane@example.com")

    response = post_json(URL, {**SEED_EXAMPLE, "password": "123"})

    assert_status(response, 400)
    assert {"username", "email", "password"} <= set(response.json())


@pytest.mark.parametrize("missing", ["email", "password", "first_name", "last_name"])
def test_missing_required_field_is_400_naming_it(post_json, missing):
    body = {key: value for key, value in MOBILE_APP.items() if key != missing}

    response = post_json(URL, body)

    assert_status(response, 400)
    assert response.json()[missing] == ["This field is required."]
    assert response.json()["message"] == f"{missing}: This field is required."


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("email", "not-an-email"),
        ("email", 12),
        ("first_name", ["Jane"]),
        ("last_name", {"name": "Doe"}),
        ("password", True),
        ("username", "jane@home"),
        ("username", "jane doe"),
        ("first_name", "x" * 151),
        ("email", "x" * 250 + "@example.com"),
        ("password", "p" * 129),
        ("username", "u" * 151),
        ("phone_number", "+1" * 40),
        ("first_name", "Ja\x00ne"),
        # A lone surrogate: valid JSON, not UTF-8 (the per-email throttle hashes it first).
        ("email", "\ud800@example.com"),
    ],
)
def test_bad_field_is_400_naming_it(post_json, field, value):
    response = post_json(URL, {**SEED_EXAMPLE, field: value})

    assert_status(response, 400)
    assert field in response.json()
    assert response.json()["message"].startswith(f"{field}: ")


def test_malformed_json_is_400(api_client):
    response = api_client.post(URL, data='{"email": ', content_type="application/json")

    assert_status(response, 400)
    assert response.json()["code"] == "parse_error"
    assert response.json()["message"]


def test_json_that_is_not_an_object_is_400(post_json):
    response = post_json(URL, ["jane@example.com", "strongpassword"])

    assert_status(response, 400)
    assert "non_field_errors" in response.json()


@pytest.mark.parametrize("authorization", ["Bearer ", "Bearer stale.token.value", "Bearer a b"])
def test_register_ignores_a_stale_or_empty_authorization_header(post_json, authorization):
    response = post_json(URL, MOBILE_APP, HTTP_AUTHORIZATION=authorization)

    assert_status(response, 201)


def test_register_ignores_an_expired_access_token(post_json, expired_access):
    body = {**MOBILE_APP, "email": "newcomer@example.com"}

    response = post_json(URL, body, HTTP_AUTHORIZATION=f"Bearer {expired_access}")

    assert_status(response, 201)


def test_password_and_hash_never_appear_in_the_answer(post_json):
    response = post_json(URL, SEED_EXAMPLE)
    stored_hash = User.objects.get().password

    assert b"strongpassword" not in response.content
    assert stored_hash.encode() not in response.content
    assert b"password" not in response.content


def test_password_never_appears_in_the_answer_to_a_refused_registration(post_json):
    UserFactory(username="jane", email="jane@example.com")

    response = post_json(URL, {**SEED_EXAMPLE, "password": "jane@example.com!"})

    assert_status(response, 400)
    assert b"jane@example.com!" not in response.content


def test_method_other_than_post_is_405_json(api_client):
    response = api_client.get(URL)

    assert_status(response, 405)
    assert response.json()["code"] == "method_not_allowed"
