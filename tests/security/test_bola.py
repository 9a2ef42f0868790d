"""API1 Broken Object Level Authorisation: every id-taking endpoint and action, both layouts,
both directions of add-to-collection, and the file downloads (signed URL and /file/)."""

from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from devstack import client, samples

MEDIA_PREFIXES = ["/api/media/media", "/api/media"]
COLLECTION_PREFIXES = ["/api/media/collections", "/api/media/collection"]


def assert_not_found(response):
    assert response.status_code == 404, f"{response.request.method} {response.url}: {response.text}"
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert body.get("message")
    assert body.get("code")


def victim_unchanged(http, gw, victim):
    media = http.get(
        f"{gw}/api/media/{victim.media['id']}/", headers=victim.headers, timeout=client.TIMEOUT
    )
    assert media.status_code == 200, media.text
    body = media.json()
    for field in ("name", "type", "description", "collection", "is_deleted", "user", "size"):
        assert body[field] == victim.media[field], field
    collection = http.get(
        f"{gw}/api/media/collections/{victim.collection['id']}/",
        headers=victim.headers,
        timeout=client.TIMEOUT,
    )
    assert collection.status_code == 200, collection.text
    assert collection.json()["name"] == victim.collection["name"]
    assert [m["id"] for m in collection.json()["media"]] == [victim.media["id"]]
    trash = http.get(
        f"{gw}/api/media/?is_deleted=true", headers=victim.headers, timeout=client.TIMEOUT
    )
    assert [m["id"] for m in trash.json()["results"]] == [victim.deleted["id"]]


@pytest.mark.parametrize("prefix", MEDIA_PREFIXES)
@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("GET", "/", None),
        ("PUT", "/", {"name": "pwned", "type": "image", "description": "pwned"}),
        ("PATCH", "/", {"name": "pwned"}),
        ("DELETE", "/", None),
        ("POST", "/restore/", None),
        ("POST", "/remove-from-collection/", None),
        ("GET", "/file/", None),
        ("GET", "", None),
        ("PATCH", "", {"name": "pwned"}),
    ],
)
def test_other_users_media_is_404(http, gw, victim, attacker, prefix, method, suffix, body):
    url = f"{gw}{prefix}/{victim.media['id']}{suffix}"
    response = http.request(
        method, url, headers=attacker.headers, json=body, timeout=client.TIMEOUT
    )
    assert_not_found(response)
    victim_unchanged(http, gw, victim)


@pytest.mark.parametrize("prefix", MEDIA_PREFIXES)
def test_other_users_media_cannot_join_attackers_collection(http, gw, victim, attacker, prefix):
    response = http.post(
        f"{gw}{prefix}/{victim.media['id']}/add-to-collection/",
        headers=attacker.headers,
        json={"collection_id": attacker.collection["id"]},
        timeout=client.TIMEOUT,
    )
    assert_not_found(response)
    victim_unchanged(http, gw, victim)


@pytest.mark.parametrize("prefix", MEDIA_PREFIXES)
def test_own_media_cannot_join_other_users_collection(http, gw, victim, attacker, prefix):
    response = http.post(
        f"{gw}{prefix}/{attacker.media['id']}/add-to-collection/",
        headers=attacker.headers,
        json={"collection_id": victim.collection["id"]},
        timeout=client.TIMEOUT,
    )
    assert response.status_code in (400, 404), response.text
    assert "collection_id" in response.json() or response.status_code == 404
    victim_unchanged(http, gw, victim)
    mine = http.get(
        f"{gw}/api/media/{attacker.media['id']}/", headers=attacker.headers, timeout=client.TIMEOUT
    )
    assert mine.json()["collection"] == attacker.collection["id"]


def test_upload_into_other_users_collection_is_refused(http, gw, victim, attacker):
    response = client.upload(
        http,
        gw,
        attacker.tokens,
        samples.png_bytes(seed=5),
        data={"collection": victim.collection["id"]},
    )
    assert response.status_code == 400, response.text
    assert "collection" in response.json()
    json_record = http.post(
        f"{gw}/api/media/",
        headers=attacker.headers,
        json={"name": "x", "type": "image", "collection": victim.collection["id"]},
        timeout=client.TIMEOUT,
    )
    assert json_record.status_code == 400, json_record.text
    victim_unchanged(http, gw, victim)


def test_restore_of_other_users_trash_is_404(http, gw, victim, attacker):
    for prefix in MEDIA_PREFIXES:
        response = http.post(
            f"{gw}{prefix}/{victim.deleted['id']}/restore/",
            headers=attacker.headers,
            timeout=client.TIMEOUT,
        )
        assert_not_found(response)
    victim_unchanged(http, gw, victim)


@pytest.mark.parametrize("prefix", COLLECTION_PREFIXES)
@pytest.mark.parametrize(
    ("method", "body"),
    [
        ("GET", None),
        ("PUT", {"name": "pwned", "description": "pwned"}),
        ("PATCH", {"name": "pwned"}),
        ("DELETE", None),
    ],
)
def test_other_users_collection_is_404(http, gw, victim, attacker, prefix, method, body):
    for suffix in ("/", ""):
        response = http.request(
            method,
            f"{gw}{prefix}/{victim.collection['id']}{suffix}",
            headers=attacker.headers,
            json=body,
            timeout=client.TIMEOUT,
        )
        assert_not_found(response)
    victim_unchanged(http, gw, victim)


def test_lists_and_filters_show_only_own_objects(http, gw, victim, attacker):
    queries = [
        "",
        "?is_deleted=true",
        f"?collection={victim.collection['id']}",
        "?search=victim",
        "?page_size=100",
        "?ordering=user",
    ]
    for prefix in MEDIA_PREFIXES:
        for query in queries:
            response = http.get(f"{gw}{prefix}/{query}", headers=attacker.headers, timeout=20)
            assert response.status_code == 200, response.text
            owners = {item["user"] for item in response.json()["results"]}
            assert owners <= {attacker.id}, (query, owners)
    for prefix in COLLECTION_PREFIXES:
        response = http.get(f"{gw}{prefix}/?search=victim", headers=attacker.headers, timeout=20)
        assert response.status_code == 200, response.text
        assert response.json()["results"] == []


def test_signed_url_is_bound_to_its_media(http, gw, victim, attacker):
    """A valid signature of one's own file opens no other file; a tampered one opens nothing."""
    own = urlsplit(attacker.media["file"])
    own_query = parse_qs(own.query)
    victim_path = urlsplit(victim.media["file"]).path
    victim_query = parse_qs(urlsplit(victim.media["file"]).query)
    attempts = {
        "own signature on victim's id": (victim_path, own_query),
        "victim's signature, later expiry": (
            victim_path,
            {**victim_query, "expires": [str(int(victim_query["expires"][0]) + 3600)]},
        ),
        "victim's signature flipped": (
            victim_path,
            {**victim_query, "signature": ["0" * 64]},
        ),
        "no signature": (victim_path, {"expires": victim_query["expires"]}),
        "expired": (victim_path, {**victim_query, "expires": ["1000000000"]}),
        "negative expiry": (victim_path, {**victim_query, "expires": ["-1"]}),
    }
    for label, (path, query) in attempts.items():
        url = f"{gw}{path}?{urlencode(query, doseq=True)}"
        response = http.get(url, timeout=client.TIMEOUT)
        assert response.status_code in (403, 404), (label, response.status_code, response.text)
        assert response.headers["Content-Type"].startswith("application/json"), label
        assert not response.content.startswith(b"\x89PNG"), label


def test_signed_url_of_deleted_media_stops_working(http, gw, victim):
    response = http.get(victim.deleted["file"], timeout=client.TIMEOUT)
    assert response.status_code in (403, 404), response.text


def test_protected_media_location_is_not_reachable(http, gw, victim):
    """The X-Accel-Redirect location is internal: its path in the URL is a 404."""
    storage_path = victim.media["storage_path"]
    for path in (
        f"/_protected_media/{storage_path}",
        f"/media/{storage_path}",
        f"/api/media/_protected_media/{storage_path}",
        f"/api/media/media/{storage_path}",
    ):
        response = http.get(f"{gw}{path}", headers={"X-Accel-Redirect": "/x"}, timeout=20)
        assert response.status_code == 404, (path, response.status_code)
        assert not response.content.startswith(b"\x89PNG"), path


def test_json_record_pointing_at_another_users_file_serves_nothing(http, gw, victim, attacker):
    """`storage_path` is free text on a record without a file: it must never reach the bytes."""
    for storage_path in (victim.media["storage_path"], f"../{victim.media['storage_path']}"):
        created = http.post(
            f"{gw}/api/media/",
            headers=attacker.headers,
            json={"name": "steal", "type": "image", "size": 1, "storage_path": storage_path},
            timeout=client.TIMEOUT,
        )
        assert created.status_code == 201, created.text
        record = created.json()
        assert record["file"] is None
        assert record["checksum_sha256"] in ("", None)
        download = http.get(
            f"{gw}/api/media/{record['id']}/file/", headers=attacker.headers, timeout=20
        )
        assert download.status_code == 404, download.text
        assert not download.content.startswith(b"\x89PNG")
