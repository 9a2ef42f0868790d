"""The mobile client's calls, which all go through the gateway: no trailing slash on the media
collection, a stored (possibly stale) Authorization header on every call."""

from devstack.client import PASSWORD, bearer, register


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


def test_collections_trash_and_privacy_through_the_gateway(http, stack, unique_email):
    owner = register(http, stack.gateway, unique_email)
    stranger = register(http, stack.gateway, f"stranger-{unique_email}")
    api = f"{stack.gateway}/api/media"

    collection = http.post(
        f"{api}/collection/", headers=bearer(owner), json={"name": "Trip"}, timeout=10
    )
    assert collection.status_code == 201, collection.text
    collection_id = collection.json()["id"]
    media = http.post(
        api,
        headers=bearer(owner),
        json={"name": "beach", "type": "image", "size": 5, "storage_path": "x"},
        timeout=10,
    ).json()
    added = http.post(
        f"{api}/{media['id']}/add-to-collection/",
        headers=bearer(owner),
        json={"collection_id": collection_id},
        timeout=10,
    )
    assert added.status_code == 200, added.text
    in_collection = http.get(
        f"{api}?collection={collection_id}", headers=bearer(owner), timeout=10
    ).json()
    assert [item["id"] for item in in_collection["results"]] == [media["id"]]

    for path in (f"{api}/{media['id']}/", f"{api}/collection/{collection_id}/"):
        hidden = http.get(path, headers=bearer(stranger), timeout=10)
        assert hidden.status_code == 404, hidden.text

    deleted = http.delete(f"{api}/{media['id']}/", headers=bearer(owner), timeout=10)
    assert deleted.status_code == 204, deleted.text
    assert http.get(f"{api}/{media['id']}/", headers=bearer(owner), timeout=10).status_code == 404
    trash = http.get(f"{api}?is_deleted=true", headers=bearer(owner), timeout=10).json()
    assert [item["id"] for item in trash["results"]] == [media["id"]]
    restored = http.post(f"{api}/{media['id']}/restore/", headers=bearer(owner), timeout=10)
    assert restored.status_code == 200, restored.text


def test_refresh_token_is_refused_where_an_access_token_is_expected(http, stack, unique_email):
    tokens = register(http, stack.gateway, unique_email)
    wrong = {"Authorization": f"Bearer {tokens['refresh']}"}
    for url in (f"{stack.gateway}/api/media", f"{stack.gateway}/api/auth/profile/"):
        response = http.get(url, headers=wrong, timeout=10)
        assert response.status_code == 401, response.text
