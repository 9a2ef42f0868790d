"""Refresh rotation, when switched on: atomic in the database, concurrent refreshes of one token
get one successor, and a replaced token used after the grace window ends the session."""

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Session, User
from accounts.tests.helpers import PROFILE, REFRESH, bearer, session_of
from accounts.tokens import RefreshToken
from common import revocation
from common.testing import assert_status

pytestmark = pytest.mark.django_db
RACERS = 20


@pytest.fixture
def rotation(settings):
    settings.SIMPLE_JWT = {
        **settings.SIMPLE_JWT,
        "ROTATE_REFRESH_TOKENS": True,
        "BLACKLIST_AFTER_ROTATION": True,
    }


def refresh(post_json, token: str):
    return post_json(REFRESH, {"refresh": token})


def assert_invalid_grant(response) -> None:
    assert_status(response, 400)
    assert response.json()["error"] == "invalid_grant"


def test_rotation_is_off_by_default(post_json, sign_in, settings):
    assert settings.SIMPLE_JWT["ROTATE_REFRESH_TOKENS"] is False
    tokens = sign_in()

    for _attempt in range(3):
        response = refresh(post_json, tokens["refresh"])
        assert_status(response, 200)
        assert set(response.json()) == {"access"}


def test_a_refresh_replaces_the_token_within_its_session(post_json, sign_in, rotation):
    tokens = sign_in()

    response = refresh(post_json, tokens["refresh"])

    assert_status(response, 200)
    successor = response.json()["refresh"]
    assert successor != tokens["refresh"]
    assert RefreshToken(successor)["sid"] == str(session_of(tokens).pk)
    assert session_of(tokens).refresh_jti == RefreshToken(successor)["jti"]
    assert_status(refresh(post_json, successor), 200)


def test_the_replaced_token_within_the_grace_window_gets_the_same_successor(
    post_json, sign_in, rotation
):
    tokens = sign_in()
    first = refresh(post_json, tokens["refresh"]).json()

    again = refresh(post_json, tokens["refresh"])

    assert_status(again, 200)
    assert again.json()["refresh"] == first["refresh"]
    assert session_of(tokens).ended_at is None


def test_the_replaced_token_after_the_grace_window_ends_the_session(
    api_client, post_json, sign_in, rotation, settings
):
    tokens = sign_in()
    successor = refresh(post_json, tokens["refresh"]).json()
    late = timezone.now() - timedelta(seconds=settings.JWT_ROTATION_GRACE_SECONDS + 1)
    Session.objects.filter(pk=session_of(tokens).pk).update(rotated_at=late)

    assert_invalid_grant(refresh(post_json, tokens["refresh"]))

    assert session_of(tokens).ended_at is not None
    assert_invalid_grant(refresh(post_json, successor["refresh"]))
    assert_status(api_client.get(PROFILE, **bearer(successor)), 401)


def test_the_grace_window_follows_the_setting(post_json, sign_in, rotation, settings):
    settings.JWT_ROTATION_GRACE_SECONDS = 0
    tokens = sign_in()
    refresh(post_json, tokens["refresh"])
    Session.objects.filter(pk=session_of(tokens).pk).update(
        rotated_at=timezone.now() - timedelta(seconds=1)
    )

    assert_invalid_grant(refresh(post_json, tokens["refresh"]))


def test_a_token_replaced_twice_ends_the_session_even_within_the_window(
    post_json, sign_in, rotation
):
    tokens = sign_in()
    second = refresh(post_json, tokens["refresh"]).json()["refresh"]
    refresh(post_json, second)

    assert_invalid_grant(refresh(post_json, tokens["refresh"]))
    assert session_of(tokens).ended_at is not None


def test_other_sessions_survive_a_reuse(post_json, sign_in, rotation):
    tokens, other = sign_in(), sign_in()
    second = refresh(post_json, tokens["refresh"]).json()["refresh"]
    refresh(post_json, second)
    refresh(post_json, tokens["refresh"])

    assert_status(refresh(post_json, other["refresh"]), 200)


def test_a_token_from_before_sessions_is_rotated_into_a_session(post_json, user, rotation):
    legacy = str(RefreshToken.for_user(user))

    response = refresh(post_json, legacy)

    assert_status(response, 200)
    assert "sid" in RefreshToken(response.json()["refresh"])
    assert_invalid_grant(refresh(post_json, legacy))


def test_a_token_from_before_sessions_of_an_account_closed_meanwhile_is_invalid_grant(
    post_json, user, rotation, monkeypatch
):
    legacy = str(RefreshToken.for_user(user))
    blacklist = RefreshToken.blacklist

    def blacklist_as_the_account_is_closed(token):
        User.objects.filter(pk=user.pk).update(is_active=False)  # in the admin, meanwhile
        return blacklist(token)

    monkeypatch.setattr(RefreshToken, "blacklist", blacklist_as_the_account_is_closed)

    assert_invalid_grant(refresh(post_json, legacy))
    assert not Session.objects.filter(user=user).exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshes_of_one_token_all_get_one_successor(sign_in, rotation):
    tokens = sign_in()
    start = threading.Barrier(RACERS)

    def refresh_at_once(_n: int):
        try:
            start.wait()
            response = APIClient().post(
                REFRESH, json.dumps({"refresh": tokens["refresh"]}), content_type="application/json"
            )
            return response.status_code, response.json()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=RACERS) as pool:
        answers = list(pool.map(refresh_at_once, range(RACERS)))

    assert [status for status, _ in answers] == [200] * RACERS, answers
    successors = {body["refresh"] for _, body in answers}
    assert len(successors) == 1
    (successor,) = successors
    session = session_of(tokens)
    assert session.refresh_jti == RefreshToken(successor)["jti"]
    assert session.ended_at is None


def test_a_reuse_publishes_the_sessions_mark(
    post_json, sign_in, rotation, settings, published_marks, django_capture_on_commit_callbacks
):
    tokens = sign_in()
    refresh(post_json, tokens["refresh"])
    late = timezone.now() - timedelta(seconds=settings.JWT_ROTATION_GRACE_SECONDS + 1)
    Session.objects.filter(pk=session_of(tokens).pk).update(rotated_at=late)

    with django_capture_on_commit_callbacks(execute=True):
        assert_invalid_grant(refresh(post_json, tokens["refresh"]))

    assert revocation.session_key(str(session_of(tokens).pk)) in published_marks()
