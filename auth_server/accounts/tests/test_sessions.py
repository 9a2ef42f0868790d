"""Sessions: one per sign-in, listed per device, signed out one at a time or all at once."""

import pytest
from django.utils import timezone

from accounts.models import Session
from accounts.sessions import device_label, session_start
from accounts.tests.factories import UserFactory
from accounts.tests.helpers import LOGOUT, PROFILE, REFRESH, SESSIONS, bearer, session_of
from accounts.tokens import AccessToken, RefreshToken
from common import revocation
from common.testing import assert_status

pytestmark = pytest.mark.django_db

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1"
)


def test_each_sign_in_starts_a_session_named_in_both_tokens(sign_in):
    tokens = sign_in()

    session = session_of(tokens)
    assert RefreshToken(tokens["refresh"])["sid"] == str(session.pk)
    assert AccessToken(tokens["access"])["sid"] == str(session.pk)
    assert session.ended_at is None


def test_registration_starts_a_session(post_json):
    body = {
        "first_name": "New",
        "last_name": "Comer",
        "email": "new@example.com",
        "password": "strongpassword",
        "device_name": "New phone",
    }
    tokens = post_json("/api/auth/register/", body).json()

    assert session_of(tokens).device == "New phone"


def test_refreshed_access_tokens_carry_the_session(post_json, sign_in):
    tokens = sign_in()

    refreshed = post_json(REFRESH, {"refresh": tokens["refresh"]}).json()

    assert AccessToken(refreshed["access"])["sid"] == str(session_of(tokens).pk)


def test_sessions_list_the_callers_devices(api_client, sign_in):
    phone = sign_in("Jane's phone", REMOTE_ADDR="203.0.113.7")
    laptop = sign_in(HTTP_USER_AGENT=IPHONE, REMOTE_ADDR="198.51.100.2")
    UserFactory(username="john")  # another user's sessions are not listed

    response = api_client.get(SESSIONS, **bearer(laptop))

    assert_status(response, 200)
    listed = {item["id"]: item for item in response.json()}
    assert set(listed) == {str(session_of(phone).pk), str(session_of(laptop).pk)}
    mine = listed[str(session_of(laptop).pk)]
    assert set(mine) == {"id", "device", "ip", "created_at", "last_used_at", "current"}
    assert mine["device"] == "Mobile Safari 17 on iOS 17 (iPhone)"
    assert mine["ip"] == "198.51.100.2"
    assert mine["current"] is True
    other = listed[str(session_of(phone).pk)]
    assert (other["device"], other["ip"], other["current"]) == (
        "Jane's phone",
        "203.0.113.7",
        False,
    )


def test_a_session_whose_refresh_token_expired_is_not_listed(api_client, sign_in):
    old, current = sign_in(), sign_in()
    Session.objects.filter(pk=session_of(old).pk).update(expires_at=timezone.now())

    listed = [item["id"] for item in api_client.get(SESSIONS, **bearer(current)).json()]

    assert listed == [str(session_of(current).pk)]


@pytest.mark.parametrize(
    ("user_agent", "device"),
    [
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/120.0.0.0 Safari/537.36",
            "Chrome 120 on Windows 10",
        ),
        ("okhttp/4.12.0", "okhttp 4"),
        ("", ""),
    ],
)
def test_the_device_is_read_from_the_user_agent(user_agent, device):
    assert device_label(device_name=None, user_agent=user_agent) == device


def test_a_device_name_wins_over_the_user_agent_and_is_cut_to_size():
    assert device_label(device_name="  Pixel 8  ", user_agent=IPHONE) == "Pixel 8"
    assert len(device_label(device_name="x" * 500, user_agent="")) == 200


def test_signing_out_another_device_ends_only_that_session(api_client, post_json, sign_in):
    phone, laptop = sign_in("phone"), sign_in("laptop")

    response = api_client.delete(f"{SESSIONS}{session_of(phone).pk}/", **bearer(laptop))

    assert_status(response, 204)
    refused = post_json(REFRESH, {"refresh": phone["refresh"]})
    assert_status(refused, 400)
    assert refused.json()["error"] == "invalid_grant"
    assert_status(api_client.get(PROFILE, **bearer(phone)), 401)
    assert_status(post_json(REFRESH, {"refresh": laptop["refresh"]}), 200)
    assert_status(api_client.get(PROFILE, **bearer(laptop)), 200)


def test_signing_out_the_current_device_through_sessions_works_too(api_client, sign_in):
    tokens = sign_in()

    assert_status(api_client.delete(f"{SESSIONS}{session_of(tokens).pk}/", **bearer(tokens)), 204)

    assert_status(api_client.get(PROFILE, **bearer(tokens)), 401)


def test_another_users_session_is_404(api_client, sign_in):
    johns = session_start(user=UserFactory(username="john"))
    tokens = sign_in()

    response = api_client.delete(f"{SESSIONS}{session_of(johns).pk}/", **bearer(tokens))

    assert_status(response, 404)
    assert session_of(johns).ended_at is None


@pytest.mark.parametrize("session_id", ["00000000-0000-0000-0000-000000000000", "not-a-uuid"])
def test_an_unknown_session_is_404(api_client, sign_in, session_id):
    tokens = sign_in()

    assert_status(api_client.delete(f"{SESSIONS}{session_id}/", **bearer(tokens)), 404)


def test_an_ended_session_is_404_the_second_time(api_client, sign_in):
    phone, laptop = sign_in(), sign_in()
    url = f"{SESSIONS}{session_of(phone).pk}/"
    assert_status(api_client.delete(url, **bearer(laptop)), 204)

    assert_status(api_client.delete(url, **bearer(laptop)), 404)


def test_sessions_need_an_access_token(api_client):
    assert_status(api_client.get(SESSIONS), 401)
    assert_status(api_client.get(SESSIONS, HTTP_AUTHORIZATION="Bearer stale"), 401)


def test_logout_with_the_refresh_token_ends_that_session_only(api_client, post_json, sign_in):
    phone, laptop = sign_in(), sign_in()

    assert_status(post_json(LOGOUT, {"refresh": phone["refresh"]}), 205)

    assert session_of(phone).ended_at is not None
    assert_status(api_client.get(PROFILE, **bearer(phone)), 401)
    assert session_of(laptop).ended_at is None
    assert_status(api_client.get(PROFILE, **bearer(laptop)), 200)


def test_bare_logout_ends_every_session(api_client, post_json, sign_in):
    phone, laptop = sign_in(), sign_in()

    assert_status(api_client.post(LOGOUT, **bearer(phone)), 205)

    for tokens in (phone, laptop):
        assert session_of(tokens).ended_at is not None
        assert_status(post_json(REFRESH, {"refresh": tokens["refresh"]}), 400)


def test_ending_a_session_publishes_its_mark_once_committed(
    api_client, sign_in, published_marks, django_capture_on_commit_callbacks
):
    phone, laptop = sign_in(), sign_in()
    sid = str(session_of(phone).pk)

    with django_capture_on_commit_callbacks(execute=True):
        api_client.delete(f"{SESSIONS}{sid}/", **bearer(laptop))

    mark = published_marks()[revocation.session_key(sid)]
    assert mark.not_before >= AccessToken(phone["access"])["iat"]
    assert mark.expires_at - mark.not_before >= 15 * 60


def test_bare_logout_publishes_marks_for_the_sessions_and_the_user(
    api_client, sign_in, user, published_marks, django_capture_on_commit_callbacks
):
    phone, laptop = sign_in(), sign_in()

    with django_capture_on_commit_callbacks(execute=True):
        api_client.post(LOGOUT, **bearer(phone))

    marks = published_marks()
    for tokens in (phone, laptop):
        assert revocation.session_key(str(session_of(tokens).pk)) in marks
    assert revocation.user_key(user.pk) in marks


def test_a_refresh_token_from_before_sessions_still_refreshes(post_json, user):
    legacy = RefreshToken.for_user(user)  # no `sid`: issued before sessions existed

    response = post_json(REFRESH, {"refresh": str(legacy)})

    assert_status(response, 200)
    assert "sid" not in AccessToken(response.json()["access"])


@pytest.mark.parametrize("sid", ["abc", 5, None, "0" * 40])
def test_a_token_with_a_strange_session_id_is_refused_everywhere(api_client, post_json, user, sid):
    refresh = RefreshToken.for_user(user)
    refresh["sid"] = sid
    access = refresh.access_token

    assert_status(post_json(REFRESH, {"refresh": str(refresh)}), 400)
    assert_status(api_client.get(PROFILE, HTTP_AUTHORIZATION=f"Bearer {access}"), 401)
    assert_status(post_json(LOGOUT, {"refresh": str(refresh)}), 400)
