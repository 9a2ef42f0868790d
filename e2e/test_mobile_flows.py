"""The mobile client's calls, which all go through the gateway: no trailing slash on the media
collection, a stored (possibly stale) Authorization header on every call."""

from api import PASSWORD, bearer, register


def test_create_and_list_without_trailing_slash(http, stack, unique_email):
    tokens = register(http, stack.gateway, unique_email)
    for index in range(3):
        created = http.post(
            f"{stack.gateway}/api/media",
            headers=bearer(tokens),
            json={"name": f"photo {index}", "type": "image", "size": 10, "storage_path": "x"},
            timeout=10,
        )
        assert created.status_code == 201, created.text
    http.post(
        f"{stack.gateway}/api/media",
        headers=bearer(tokens),
        json={"name": "voice note", "type": "audio", "size": 10, "storage_path": "y"},
        timeout=10,
    )

    page = http.get(
        f"{stack.gateway}/api/media?page=1&page_size=5&type=image&is_deleted=false",
        headers=bearer(tokens),
        timeout=10,
    )
    assert page.status_code == 200, page.text
    body = page.json()
    assert body["count"] == 3
    assert [item["name"] for item in body["results"]] == ["photo 2", "photo 1", "photo 0"]

    one = body["results"][0]["id"]
    detail = http.get(f"{stack.gateway}/api/media/{one}/", headers=bearer(tokens), timeout=10)
    assert detail.status_code == 200, detail.text


def test_login_ignores_a_stale_authorization_header(http, stack, unique_email):
    register(http, stack.gateway, unique_email)
    for stale in ("Bearer ", "Bearer not-a-token"):
        login = http.post(
            f"{stack.gateway}/api/auth/login/",
            headers={"Authorization": stale},
            json={"username": unique_email, "password": PASSWORD},
            timeout=10,
        )
        assert login.status_code == 200, login.text
