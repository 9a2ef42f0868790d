"""API5 broken function-level authorisation and API2 on the other way in: every media operation
needs a token, the Django admin (served at /api/auth/admin/ through the gateway) admits no API
user and no bearer token, and its login form is held to the same brute-force limit as the API's."""

import re

import pytest
import requests

from devstack import client

PLACEHOLDER_ID = "00000000-0000-4000-8000-000000000000"
# Operations that are public on purpose: the signed file URLs (the signature is the permission).
# The schema and its docs are public too, and not operations of the schema.
PUBLIC_PREFIXES = ("/files/",)


def spellings(path: str) -> set[str]:
    """A schema path (the seed layout, with its slash) and the aliases that route the same view:
    the mobile app's layout and the slashless forms."""
    mobile = path
    if path.startswith("/media/"):
        mobile = path.removeprefix("/media")
    elif path.startswith("/collections/"):
        mobile = "/collection/" + path.removeprefix("/collections/")
    return {path, mobile, path.rstrip("/"), mobile.rstrip("/")}


def test_every_media_operation_needs_a_token(http, gw):
    schema = http.get(f"{gw}/api/media/schema/?format=json", timeout=20).json()
    server = gw + schema["servers"][0]["url"]
    checked = 0
    for path, operations in schema["paths"].items():
        if path.startswith(PUBLIC_PREFIXES):
            continue
        for spelling in spellings(path):
            url = server + re.sub(r"\{[^}]+\}", PLACEHOLDER_ID, spelling)
            for method in operations:
                if method not in ("get", "post", "put", "patch", "delete"):
                    continue
                response = http.request(method.upper(), url, json={}, timeout=20)
                assert response.status_code == 401, (method, url, response.status_code)
                assert response.headers.get("WWW-Authenticate", "").startswith("Bearer")
                checked += 1
    assert checked >= 60, checked


def admin_login(session: requests.Session, gw: str, username: str, password: str):
    page = session.get(f"{gw}/api/auth/admin/login/", timeout=20)
    assert page.status_code == 200, page.text[:300]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    return session.post(
        f"{gw}/api/auth/admin/login/?next=/api/auth/admin/",
        data={"csrfmiddlewaretoken": token, "username": username, "password": password},
        headers={"Referer": f"{gw}/api/auth/admin/login/"},
        allow_redirects=False,
        timeout=20,
    )


def signed_in_to_admin(session: requests.Session, gw: str) -> bool:
    response = session.get(f"{gw}/api/auth/admin/", allow_redirects=False, timeout=20)
    return response.status_code == 200


def test_admin_admits_no_bearer_token_and_no_api_user(http, gw):
    tokens = client.register(http, gw, client.unique_email("notstaff"))
    response = http.get(
        f"{gw}/api/auth/admin/", headers=client.bearer(tokens), allow_redirects=False, timeout=20
    )
    assert response.status_code == 302, response.status_code
    assert "/admin/login/" in response.headers["Location"]
    with requests.Session() as browser:
        answer = admin_login(browser, gw, tokens["user"]["email"], client.PASSWORD)
        assert answer.status_code == 200  # the form again, with an error: not staff
        assert not signed_in_to_admin(browser, gw)


@pytest.fixture(scope="module")
def staff_user(stack) -> dict:
    email = client.unique_email("staff")
    username = email.split("@")[0]
    stack.manage(
        "auth_server",
        "shell",
        "-c",
        "from accounts.models import User; "
        f"User.objects.create_superuser(username='{username}', email='{email}', "
        f"password='{client.PASSWORD}')",
    )
    return {"username": username, "email": email}


def test_staff_signs_in_to_admin(gw, staff_user):
    with requests.Session() as browser:
        answer = admin_login(browser, gw, staff_user["username"], client.PASSWORD)
        assert answer.status_code == 302, answer.text[:300]
        assert signed_in_to_admin(browser, gw)


# Bug 11 in docs/reliability.md: the admin's login form took unlimited guesses.
def test_admin_login_guessing_is_throttled(gw, staff_user):
    with requests.Session() as browser:
        statuses = [
            admin_login(browser, gw, staff_user["username"], f"guess-{n}").status_code
            for n in range(8)
        ]
        locked = admin_login(browser, gw, staff_user["username"], client.PASSWORD)
    assert 429 in statuses or locked.status_code != 302, statuses
