import pytest
from django.test import Client

from accounts.models import User
from accounts.tests.factories import UserFactory
from accounts.tests.helpers import REFRESH, queued_messages
from common import messages, revocation
from common.testing import assert_status

ADMIN = "/api/auth/admin/"

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(db):
    # Django's test client, signed in with a session as the admin site expects.
    client = Client()
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def test_admin_lists_and_searches_users(admin_client, user):
    response = admin_client.get(f"{ADMIN}accounts/user/", {"q": "jane@example"})

    assert_status(response, 200)
    assert b"jane@example.com" in response.content


def test_admin_change_page_shows_the_user(admin_client, user):
    response = admin_client.get(f"{ADMIN}accounts/user/{user.pk}/change/")

    assert_status(response, 200)
    assert b"phone_number" in response.content


def test_admin_adds_a_user_who_can_then_log_in(admin_client, api_client):
    response = admin_client.post(
        f"{ADMIN}accounts/user/add/",
        {
            "username": "added",
            "email": "Added@Example.com",
            "usable_password": "true",
            "password1": "strongpassword",
            "password2": "strongpassword",
        },
    )

    assert_status(response, 302)
    added = User.objects.get(username="added")
    assert added.email == "Added@example.com"
    login = api_client.post(
        "/api/auth/login/",
        {"email": "added@example.com", "password": "strongpassword"},
        format="json",
    )
    assert_status(login, 200)


def test_admin_refuses_a_duplicate_username_in_another_case(admin_client, user):
    response = admin_client.post(
        f"{ADMIN}accounts/user/add/",
        {
            "username": "JANE",
            "email": "jane2@example.com",
            "usable_password": "true",
            "password1": "strongpassword",
            "password2": "strongpassword",
        },
    )

    assert_status(response, 200)  # the form again, with its error
    assert User.objects.filter(username__iexact="jane").count() == 1


def change_form_data(admin_client, user) -> dict:
    page = admin_client.get(f"{ADMIN}accounts/user/{user.pk}/change/")
    form = page.context["adminform"].form
    data = {
        name: value
        for name, value in form.initial.items()
        if value is not None and name not in {"groups", "user_permissions", "password"}
    }
    return {**data, "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00"}


def test_admin_saves_a_blank_phone_number_as_null(admin_client, user):
    user.phone_number = "+14155550123"
    user.save()
    data = {**change_form_data(admin_client, user), "phone_number": ""}

    response = admin_client.post(f"{ADMIN}accounts/user/{user.pk}/change/", data)

    assert_status(response, 302)
    user.refresh_from_db()
    assert user.phone_number is None


def test_admin_login_accepts_an_email_address():
    UserFactory(username="boss", email="boss@example.com", is_staff=True)

    response = Client().post(
        f"{ADMIN}login/", {"username": "BOSS@example.com", "password": "strongpassword"}
    )

    assert_status(response, 302)


def test_admin_login_refuses_a_wrong_password():
    UserFactory(username="boss", email="boss@example.com", is_staff=True)

    response = Client().post(f"{ADMIN}login/", {"username": "boss", "password": "wrongpassword"})

    assert_status(response, 200)  # the login form again
    assert b"Please enter the correct" in response.content


def _admin_login(client, username: str, password: str):
    return client.post(f"{ADMIN}login/", {"username": username, "password": password})


def test_admin_login_guessing_is_throttled_like_the_api(user):
    user.is_staff = True
    user.save()
    client = Client()
    for _attempt in range(5):
        assert_status(_admin_login(client, "jane", "guessedpassword"), 200)

    locked = _admin_login(client, "jane", "strongpassword")

    assert_status(locked, 429)
    assert int(locked["Retry-After"]) >= 1
    assert locked.json()["code"] == "throttled"
    api_login = Client().post(
        "/api/auth/login/",
        {"username": "jane", "password": "strongpassword"},
        content_type="application/json",
    )
    assert_status(api_login, 429)  # the same counters as the API's login


def test_admin_login_of_staff_still_works(user):
    user.is_staff = True
    user.save()
    client = Client()

    assert_status(_admin_login(client, "jane", "strongpassword"), 302)
    assert_status(client.get(ADMIN), 200)


def test_admin_guessing_from_one_address_does_not_lock_the_owner_out(user):
    user.is_staff = True
    user.save()
    attacker, owner = Client(REMOTE_ADDR="198.51.100.66"), Client(REMOTE_ADDR="203.0.113.10")
    for _attempt in range(5):
        assert_status(_admin_login(attacker, "jane", "guessedpassword"), 200)
    assert_status(_admin_login(attacker, "jane", "strongpassword"), 429)

    assert_status(_admin_login(owner, "jane", "strongpassword"), 302)


def test_admin_refuses_a_username_equal_once_folded(admin_client):
    UserFactory(username="straße1", email="first@example.com")

    response = admin_client.post(
        f"{ADMIN}accounts/user/add/",
        {
            "username": "STRAẞE1",
            "email": "second@example.com",
            "usable_password": "true",
            "password1": "strongpassword",
            "password2": "strongpassword",
        },
    )

    assert_status(response, 200)  # the form again, with its error
    assert "A user with that username already exists." in response.content.decode()
    assert User.objects.filter(username_folded="strasse1").count() == 1


def test_a_password_set_in_the_admin_ends_every_session(
    admin_client, post_json, sign_in, user, published_marks, django_capture_on_commit_callbacks
):
    tokens = sign_in()
    new_password = "another-long-passphrase"

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            f"{ADMIN}accounts/user/{user.pk}/password/",
            {"password1": new_password, "password2": new_password, "usable_password": "true"},
        )

    assert_status(response, 302)
    user.refresh_from_db()
    assert user.check_password(new_password)
    assert_status(post_json(REFRESH, {"refresh": tokens["refresh"]}), 400)
    assert revocation.user_key(user.pk) in published_marks()  # the media service refuses them


def test_a_password_the_admin_refuses_ends_no_session(admin_client, post_json, sign_in, user):
    tokens = sign_in()

    response = admin_client.post(
        f"{ADMIN}accounts/user/{user.pk}/password/",
        {"password1": "one-long-passphrase", "password2": "another-one", "usable_password": "true"},
    )

    assert_status(response, 200)  # the form again, with its error
    assert_status(post_json(REFRESH, {"refresh": tokens["refresh"]}), 200)


def test_an_account_deactivated_in_the_admin_has_its_tokens_refused_at_once(
    admin_client, sign_in, user, published_marks, django_capture_on_commit_callbacks
):
    sign_in()
    data = change_form_data(admin_client, user)
    data.pop("is_active")  # an unticked box

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"{ADMIN}accounts/user/{user.pk}/change/", data)

    assert_status(response, 302)
    user.refresh_from_db()
    assert not user.is_active
    assert revocation.user_key(user.pk) in published_marks()


def test_an_account_deleted_in_the_admin_has_its_media_purged(
    admin_client, post_json, sign_in, user
):
    messages._publisher.cache_clear()
    queued_messages()  # an empty queue to start with
    tokens = sign_in()

    response = admin_client.post(f"{ADMIN}accounts/user/{user.pk}/delete/", {"post": "yes"})

    assert_status(response, 302)
    assert not User.objects.filter(pk=user.pk).exists()
    assert queued_messages() == [("media.purge_user", {"user_id": user.pk})]
    assert_status(post_json(REFRESH, {"refresh": tokens["refresh"]}), 400)


def test_accounts_deleted_together_in_the_admin_are_each_purged(admin_client, user):
    messages._publisher.cache_clear()
    queued_messages()
    other = UserFactory(username="john")

    response = admin_client.post(
        f"{ADMIN}accounts/user/",
        {"action": "delete_selected", "_selected_action": [user.pk, other.pk], "post": "yes"},
    )

    assert_status(response, 302)
    assert not User.objects.filter(pk__in=[user.pk, other.pk]).exists()
    queued = queued_messages()
    assert {task for task, _payload in queued} == {"media.purge_user"}
    purged = sorted(payload["user_id"] for _task, payload in queued)
    assert purged == sorted([user.pk, other.pk])


def test_an_account_the_admin_cannot_delete_now_stays_and_is_not_called_deleted(
    admin_client, user, settings
):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:9/0"  # nothing listens on the discard port
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
    messages._publisher.cache_clear()

    response = admin_client.post(
        f"{ADMIN}accounts/user/{user.pk}/delete/", {"post": "yes"}, follow=True
    )

    messages._publisher.cache_clear()
    assert User.objects.filter(pk=user.pk).exists()
    shown = [str(message) for message in response.context["messages"]]
    assert any("cannot be deleted right now" in message for message in shown), shown
    assert not any("successfully" in message for message in shown), shown
