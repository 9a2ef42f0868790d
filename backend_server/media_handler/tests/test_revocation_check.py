"""The token check refuses an access token whose session (or user) the auth service has since
revoked, from this worker's in-memory copy of the revocation marks (common.revocation), fed in
the background from the store the auth service publishes to: no call, no query per request."""

import time
import uuid

import pytest
from rest_framework.request import Request
from rest_framework.test import APIClient, APIRequestFactory
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.tokens import AccessToken

from common import revocation
from common.revocation import Mark
from media_handler.authentication import StatelessJWTAuthentication

from .helpers import assert_status

MEDIA_LIST = "/api/media/media/"

pytestmark = pytest.mark.django_db


def token_for(user_id: int, session_id: str | None, *, issued_ago: float = 0) -> str:
    token = AccessToken()
    token["user_id"] = user_id
    if session_id is not None:
        token["sid"] = session_id
    token["iat"] = int(time.time() - issued_ago)
    return str(token)


def status_with(token: str) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client.get(MEDIA_LIST).status_code


def publish(*, session_ids=(), user_ids=()) -> None:
    assert revocation.revocation_list().wait_loaded(5)
    revocation.revocation_store().publish(
        revocation.marks_for(session_ids=session_ids, user_ids=user_ids)
    )


def refused_within(token: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if status_with(token) == 401:
            return True
        time.sleep(0.05)
    return False


def test_a_signed_out_sessions_token_is_refused_within_two_seconds():
    session, other_session = str(uuid.uuid4()), str(uuid.uuid4())
    signed_out, still_in = token_for(501, session), token_for(501, other_session)
    assert status_with(signed_out) == 200

    publish(session_ids=[session])

    assert refused_within(signed_out, 2)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {signed_out}")
    response = client.get(MEDIA_LIST)
    assert_status(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert "revoked" in response.json()["message"]
    assert status_with(still_in) == 200


def test_a_user_mark_refuses_that_users_earlier_tokens_and_accepts_later_ones():
    earlier = token_for(502, str(uuid.uuid4()), issued_ago=5)
    legacy = token_for(502, None, issued_ago=5)  # from before sessions: no `sid`
    someone_else = token_for(503, None, issued_ago=5)

    publish(user_ids=[502])

    assert refused_within(earlier, 2)
    assert status_with(legacy) == 401
    assert status_with(someone_else) == 200
    time.sleep(1.1)  # a sign-in in a later second than the revocation
    assert status_with(token_for(502, str(uuid.uuid4()))) == 200


def test_the_check_reads_no_database(django_assert_num_queries):
    session = str(uuid.uuid4())
    accepted, revoked = token_for(504, str(uuid.uuid4())), token_for(504, session)
    publish(session_ids=[session])
    assert refused_within(revoked, 2)

    with django_assert_num_queries(0):
        user, _ = StatelessJWTAuthentication().authenticate(request_with(accepted))
        with pytest.raises(InvalidToken, match="revoked"):
            StatelessJWTAuthentication().authenticate(request_with(revoked))
    assert user.id == 504


def request_with(token: str) -> Request:
    return Request(APIRequestFactory().get(MEDIA_LIST, HTTP_AUTHORIZATION=f"Bearer {token}"))


def test_while_the_store_cannot_be_read_tokens_are_accepted(settings, tmp_path):
    unreadable = tmp_path / "marks.sqlite3"
    unreadable.mkdir()  # a folder where the file should be
    settings.REVOCATION_STORE = f"file://{unreadable}"
    session = str(uuid.uuid4())
    token = token_for(505, session)

    assert not revocation.revocation_list().wait_loaded(1.5)
    assert status_with(token) == 200

    unreadable.rmdir()
    revocation.revocation_store().publish(
        [Mark(revocation.session_key(session), time.time(), time.time() + 600)]
    )
    assert refused_within(token, 3)
