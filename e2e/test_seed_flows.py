"""The seed README's curl flows, through the gateway and straight against each service."""

import pytest

from devstack.client import PASSWORD, bearer, register


@pytest.fixture(params=["gateway", "direct"])
def bases(request, stack) -> tuple[str, str]:
    """(auth base URL, media base URL): both the gateway, or each service on its own port."""
    if request.param == "gateway":
        return stack.gateway, stack.gateway
    return stack.auth, stack.media


def test_register_login_refresh_profile_media_logout(http, bases, unique_email):
    auth, media = bases

    registered = register(http, auth, unique_email)
    assert set(registered) >= {"user", "access", "refresh"}
    assert registered["user"]["email"] == unique_email

    login = http.post(
        f"{auth}/api/auth/login/", json={"email": unique_email, "password": PASSWORD}, timeout=10
    )
    assert login.status_code == 200, login.text
    tokens = login.json()
    assert set(tokens) >= {"access", "refresh", "user"}

    for path in ("token/refresh/", "refresh/"):
        refreshed = http.post(
            f"{auth}/api/auth/{path}", json={"refresh": tokens["refresh"]}, timeout=10
        )
        assert refreshed.status_code == 200, refreshed.text
        assert refreshed.json()["access"]

    profile = http.get(f"{auth}/api/auth/profile/", headers=bearer(tokens), timeout=10)
    assert profile.status_code == 200, profile.text
    assert profile.json()["email"] == unique_email

    created = http.post(
        f"{media}/api/media/media/",
        headers=bearer(tokens),
        json={
            "name": "Sample Image",
            "type": "image",
            "size": 1024,
            "storage_path": "/path/to/image.jpg",
            "description": "A sample image",
        },
        timeout=10,
    )
    assert created.status_code == 201, created.text
    assert created.json()["user"] == registered["user"]["id"]

    images = http.get(f"{media}/api/media/media/?type=image", headers=bearer(tokens), timeout=10)
    assert images.status_code == 200, images.text
    assert [item["name"] for item in images.json()["results"]] == ["Sample Image"]
    videos = http.get(f"{media}/api/media/media/?type=video", headers=bearer(tokens), timeout=10)
    assert videos.json()["count"] == 0

    logout = http.post(
        f"{auth}/api/auth/logout/",
        headers=bearer(tokens),
        json={"refresh": tokens["refresh"]},
        timeout=10,
    )
    assert logout.status_code == 205, logout.text
    refused = http.post(
        f"{auth}/api/auth/token/refresh/", json={"refresh": tokens["refresh"]}, timeout=10
    )
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"] == "invalid_grant"


def test_media_without_token_is_401_with_bearer_challenge(http, bases):
    _, media = bases
    response = http.get(f"{media}/api/media/media/", timeout=10)
    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["message"]
