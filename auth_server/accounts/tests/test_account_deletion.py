"""DELETE profile/ with the password: the account is gone, its sessions end, and the media
service is asked, by a durable message on the job queue, to remove all of the user's media."""

import pytest

from accounts import backends, sessions
from accounts.models import Session, User
from accounts.tests.factories import PASSWORD
from accounts.tests.helpers import PROFILE, REFRESH, bearer, queued_messages
from common import messages, revocation
from common.testing import assert_status

LOGIN = "/api/auth/login/"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_publisher():
    messages._publisher.cache_clear()
    yield
    messages._publisher.cache_clear()


def delete_account(api_client, tokens, password="strongpassword"):
    return api_client.delete(PROFILE, {"password": password}, format="json", **bearer(tokens))


def test_deleting_the_account_with_its_password_is_204_and_asks_for_its_media_to_go(
    api_client, post_json, sign_in, user
):
    queued_messages()  # an empty queue to start with
    tokens, other_device = sign_in(), sign_in()

    response = delete_account(api_client, tokens)

    assert_status(response, 204)
    assert not User.objects.filter(pk=user.pk).exists()
    assert not Session.objects.filter(user_id=user.pk).exists()
    assert queued_messages() == [("media.purge_user", {"user_id": user.pk})]
    for device in (tokens, other_device):
        assert_status(post_json(REFRESH, {"refresh": device["refresh"]}), 400)
        assert_status(api_client.get(PROFILE, **bearer(device)), 401)
    assert_status(post_json(LOGIN, {"username": "jane", "password": "strongpassword"}), 400)


def test_deletion_publishes_a_mark_for_the_user(
    api_client, sign_in, user, published_marks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        delete_account(api_client, sign_in())

    assert revocation.user_key(user.pk) in published_marks()


def test_a_wrong_password_deletes_nothing_and_asks_nothing(api_client, sign_in, user):
    queued_messages()

    response = delete_account(api_client, sign_in(), password="not-my-password")

    assert_status(response, 400)
    assert response.json()["password"] == ["The password is wrong."]
    assert User.objects.filter(pk=user.pk).exists()
    assert queued_messages() == []


@pytest.mark.parametrize("body", [{}, {"password": ""}, {"password": ["x"]}])
def test_deleting_without_a_password_is_400_naming_it(api_client, sign_in, user, body):
    response = api_client.delete(PROFILE, body, format="json", **bearer(sign_in()))

    assert_status(response, 400)
    assert "password" in response.json()
    assert User.objects.filter(pk=user.pk).exists()


def test_deleting_needs_an_access_token(api_client, user):
    assert_status(api_client.delete(PROFILE, {"password": "strongpassword"}, format="json"), 401)


def test_when_the_job_queue_is_unreachable_nothing_is_deleted(api_client, sign_in, user, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:9/0"  # nothing listens on the discard port
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
    tokens = sign_in()

    response = delete_account(api_client, tokens)

    assert_status(response, 503)
    assert response.json()["message"]
    assert User.objects.filter(pk=user.pk).exists()
    assert Session.objects.get(user=user).ended_at is None
    assert_status(api_client.get(PROFILE, **bearer(tokens)), 200)


def test_a_sign_in_as_the_account_is_deleted_is_refused_not_a_500(post_json, user, monkeypatch):
    check = backends.EmailOrUsernameBackend.authenticate

    def check_then_delete(self, request, **credentials):
        checked = check(self, request, **credentials)
        User.objects.filter(pk=user.pk).delete()  # the owner's DELETE profile/, elsewhere
        return checked

    monkeypatch.setattr(backends.EmailOrUsernameBackend, "authenticate", check_then_delete)

    response = post_json(LOGIN, {"username": "jane", "password": PASSWORD})

    assert_status(response, 400)
    assert response.json()["code"] == "invalid_credentials"
    assert not Session.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_rotating_refresh_as_the_account_is_deleted_is_invalid_grant_not_a_500(
    post_json, sign_in, settings, monkeypatch
):
    settings.SIMPLE_JWT = {**settings.SIMPLE_JWT, "ROTATE_REFRESH_TOKENS": True}
    tokens = sign_in()
    successor = sessions._recorded_refresh_token

    def successor_then_delete(session, *, user):
        token = successor(session, user=user)
        User.objects.filter(pk=user.pk).delete()  # committed: the foreign key is checked now
        return token

    monkeypatch.setattr(sessions, "_recorded_refresh_token", successor_then_delete)

    response = post_json(REFRESH, {"refresh": tokens["refresh"]})

    assert_status(response, 400)
    assert response.json()["error"] == "invalid_grant"
