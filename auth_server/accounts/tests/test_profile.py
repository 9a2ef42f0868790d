import pytest
from django.core import mail

from accounts.tests.factories import PASSWORD, UserFactory
from common.testing import assert_status

URL = "/api/auth/profile/"

pytestmark = pytest.mark.django_db


@pytest.fixture
def authed(api_client, tokens):
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    return api_client


def test_profile_is_the_user_object(authed, user):
    response = authed.get(URL)

    assert_status(response, 200)
    assert response.json() == {
        "id": user.pk,
        "username": "jane",
        "email": "jane@example.com",
        "first_name": "Jane",
        "last_name": "Doe",
        "phone_number": None,
        "is_active": True,
        "is_staff": False,
        "date_joined": user.date_joined.isoformat().replace("+00:00", "Z"),
    }


def test_profile_costs_one_query(authed, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert_status(authed.get(URL), 200)


@pytest.mark.parametrize("authorization", [None, "Bearer ", "Bearer not.a.token", "Token abc"])
def test_profile_without_a_usable_token_is_401_with_www_authenticate(api_client, authorization):
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization is not None else {}

    response = api_client.get(URL, **headers)

    assert_status(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["message"]
    assert response.json()["code"]


def test_profile_with_expired_access_token_is_401(api_client, expired_access):
    response = api_client.get(URL, HTTP_AUTHORIZATION=f"Bearer {expired_access}")

    assert_status(response, 401)
    assert response.json()["code"] == "token_not_valid"


def test_patch_changes_only_the_fields_sent(authed, user):
    response = authed.patch(
        URL, {"first_name": "Janet", "phone_number": "+44 20 7946 0958"}, format="json"
    )

    assert_status(response, 200)
    assert response.json()["first_name"] == "Janet"
    assert response.json()["phone_number"] == "+442079460958"
    user.refresh_from_db()
    assert (user.first_name, user.last_name, user.phone_number) == ("Janet", "Doe", "+442079460958")


def test_put_replaces_the_profile(authed, user):
    body = {"username": "janed", "email": "janed@example.com", "first_name": "J", "last_name": "D"}

    response = authed.put(URL, body, format="json")

    assert_status(response, 200)
    user.refresh_from_db()
    assert (user.username, user.email, user.first_name, user.last_name) == (
        "janed",
        "janed@example.com",
        "J",
        "D",
    )


@pytest.mark.parametrize("missing", ["email", "first_name", "last_name"])
def test_put_without_a_required_field_is_400_naming_it(authed, missing):
    body = {"email": "jane@example.com", "first_name": "Jane", "last_name": "Doe"}
    del body[missing]

    response = authed.put(URL, body, format="json")

    assert_status(response, 400)
    assert response.json()[missing] == ["This field is required."]


def test_put_of_the_profile_as_read_works(authed):
    profile = authed.get(URL).json()

    response = authed.put(URL, profile, format="json")

    assert_status(response, 200)
    assert response.json() == profile


def test_own_email_in_another_case_is_allowed(authed, user):
    response = authed.patch(URL, {"email": "JANE@example.com"}, format="json")

    assert_status(response, 200)
    user.refresh_from_db()
    assert user.email == "JANE@example.com"


@pytest.mark.parametrize(
    ("field", "value"),
    [("email", "Other@Example.com"), ("username", "OTHER"), ("phone_number", "+14155550123")],
)
def test_another_users_email_username_or_phone_is_400_naming_it(authed, user, field, value):
    UserFactory(username="other", email="other@example.com", phone_number="+14155550123")

    response = authed.patch(URL, {field: value}, format="json")

    assert_status(response, 400)
    assert response.json()[field] == [f"A user with that {field.replace('_', ' ')} already exists."]
    user.refresh_from_db()
    assert (user.username, user.email, user.phone_number) == ("jane", "jane@example.com", None)


def test_a_new_email_address_is_told_to_the_previous_one(authed, user):
    response = authed.patch(URL, {"email": "someone@elsewhere.example"}, format="json")

    assert_status(response, 200)
    (notice,) = mail.outbox
    assert notice.to == ["jane@example.com"]
    assert "someone@elsewhere.example" in notice.body


def test_the_same_address_in_another_case_or_other_fields_send_no_notice(authed, user):
    assert_status(authed.patch(URL, {"email": "JANE@example.com"}, format="json"), 200)
    assert_status(authed.patch(URL, {"first_name": "Janet"}, format="json"), 200)

    assert mail.outbox == []


def test_password_cannot_be_changed_through_the_profile(authed, user):
    response = authed.patch(URL, {"password": "anotherpassword"}, format="json")

    assert_status(response, 400)
    assert "password" in response.json()
    user.refresh_from_db()
    assert user.check_password("strongpassword")


@pytest.mark.parametrize("field", ["is_staff", "is_active", "id", "date_joined"])
def test_read_only_fields_are_ignored(authed, user, field):
    value = {"is_staff": True, "is_active": False, "id": 999, "date_joined": "2000-01-01T00:00:00Z"}

    response = authed.patch(URL, {field: value[field]}, format="json")

    assert_status(response, 200)
    refreshed = type(user).objects.get(pk=user.pk)
    assert getattr(refreshed, field) == getattr(user, field)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("email", "nope"),
        ("username", "has space"),
        ("username", "has@at"),
        ("first_name", "x" * 151),
        ("phone_number", "12345"),
        ("last_name", ["Doe"]),
    ],
)
def test_bad_field_is_400_naming_it(authed, field, value):
    response = authed.patch(URL, {field: value}, format="json")

    assert_status(response, 400)
    assert field in response.json()


def test_clearing_the_phone_number_stores_null(authed, user):
    user.phone_number = "+14155550123"
    user.save()

    response = authed.patch(URL, {"phone_number": ""}, format="json")

    assert_status(response, 200)
    user.refresh_from_db()
    assert user.phone_number is None


def test_refresh_token_is_refused_as_access_token(api_client, tokens):
    response = api_client.get(URL, HTTP_AUTHORIZATION=f"Bearer {tokens['refresh']}")

    assert_status(response, 401)
    assert "wrong type" in response.json()["message"]


def test_token_of_a_deleted_user_is_401(authed, user):
    user.delete()

    assert_status(authed.get(URL), 401)


def test_profile_edits_are_throttled_per_account(authed, api_client, throttle_rates, post_json):
    throttle_rates(profile_write="3/hour")
    for name in ("Ann", "Bea", "Cy"):
        assert_status(authed.patch(URL, {"first_name": name}, format="json"), 200)

    held = authed.patch(URL, {"email": "guess@example.com"}, format="json")

    assert_status(held, 429)
    assert int(held["Retry-After"]) >= 1
    assert_status(authed.get(URL), 200)  # reading is not held
    other = UserFactory(username="other", email="other@example.com")
    tokens = post_json(
        "/api/auth/login/", {"username": other.username, "password": PASSWORD}
    ).json()
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert_status(api_client.patch(URL, {"first_name": "Other"}, format="json"), 200)
