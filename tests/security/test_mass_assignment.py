"""API3/API6 mass assignment: fields a client must not set are ignored or refused, never taken."""

import hashlib
import re
import uuid

from devstack import client, samples

STORED_PATH = re.compile(r"^uploads/\d{4}/\d{2}/\d{2}/[0-9a-f]{32}\.png$")


def test_upload_ignores_owner_id_and_file_facts(http, gw, victim, attacker):
    content = samples.png_bytes(seed=11)
    forced_id = str(uuid.uuid4())
    response = client.upload(
        http,
        gw,
        attacker.tokens,
        content,
        data={
            "id": forced_id,
            "user": str(victim.id),
            "is_deleted": "true",
            "size": "1",
            "checksum_sha256": "0" * 64,
            "mime_type": "text/html",
            "storage_path": "../../etc/passwd",
            "width": "1",
            "height": "1",
            "created_at": "2000-01-01T00:00:00Z",
        },
    )
    assert response.status_code == 201, response.text
    media = response.json()
    assert media["id"] != forced_id
    assert media["user"] == attacker.id
    assert media["is_deleted"] is False
    assert media["size"] == len(content)
    assert media["checksum_sha256"] == hashlib.sha256(content).hexdigest()
    assert media["mime_type"] == "image/png"
    assert STORED_PATH.match(media["storage_path"]), media["storage_path"]
    assert (media["width"], media["height"]) == (32, 16)
    assert not media["created_at"].startswith("2000")
    victim_list = http.get(f"{gw}/api/media/", headers=victim.headers, timeout=client.TIMEOUT)
    assert media["id"] not in {m["id"] for m in victim_list.json()["results"]}


def test_update_cannot_change_owner_or_file_facts(http, gw, victim, attacker):
    media_id = attacker.media["id"]
    for method in ("PATCH", "PUT"):
        response = http.request(
            method,
            f"{gw}/api/media/{media_id}/",
            headers=attacker.headers,
            json={
                "name": attacker.media["name"],
                "type": "image",
                "id": str(uuid.uuid4()),
                "user": victim.id,
                "is_deleted": True,
                "size": 1,
                "checksum_sha256": "0" * 64,
                "storage_path": victim.media["storage_path"],
                "mime_type": "text/html",
                "collection": victim.collection["id"],
            },
            timeout=client.TIMEOUT,
        )
        assert response.status_code in (200, 400), response.text
        fresh = http.get(f"{gw}/api/media/{media_id}/", headers=attacker.headers, timeout=20)
        assert fresh.status_code == 200, fresh.text
        body = fresh.json()
        for field in ("id", "user", "is_deleted", "size", "checksum_sha256", "storage_path"):
            assert body[field] == attacker.media[field], (method, field)
        assert body["mime_type"] == "image/png"
        assert body["collection"] == attacker.collection["id"]


def test_collection_owner_cannot_be_chosen(http, gw, victim, attacker):
    created = http.post(
        f"{gw}/api/media/collections/",
        headers=attacker.headers,
        json={"name": "mine", "user": victim.id, "id": str(uuid.uuid4()), "media_count": 99},
        timeout=client.TIMEOUT,
    )
    assert created.status_code == 201, created.text
    assert created.json()["user"] == attacker.id
    assert created.json()["media_count"] == 0
    patched = http.patch(
        f"{gw}/api/media/collections/{created.json()['id']}/",
        headers=attacker.headers,
        json={"user": victim.id},
        timeout=client.TIMEOUT,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["user"] == attacker.id
    theirs = http.get(f"{gw}/api/media/collections/", headers=victim.headers, timeout=20)
    assert created.json()["id"] not in {c["id"] for c in theirs.json()["results"]}


def test_register_cannot_grant_staff_or_choose_id(http, gw):
    existing = client.register(http, gw, client.unique_email("existing"))["user"]["id"]
    email = client.unique_email("staff")
    response = http.post(
        f"{gw}/api/auth/register/",
        json={
            "first_name": "Eve",
            "last_name": "Mallory",
            "email": email,
            "password": client.PASSWORD,
            "is_staff": True,
            "is_superuser": True,
            "is_active": False,
            "id": existing,
            "date_joined": "2000-01-01T00:00:00Z",
        },
        timeout=client.TIMEOUT,
    )
    assert response.status_code in (201, 400), response.text
    if response.status_code == 201:
        user = response.json()["user"]
        assert user["is_staff"] is False
        assert user["is_active"] is True
        assert user["id"] != existing
        assert not user["date_joined"].startswith("2000")
        profile = http.get(
            f"{gw}/api/auth/profile/", headers=client.bearer(response.json()), timeout=20
        )
        assert profile.json()["is_staff"] is False


def test_profile_cannot_grant_staff_or_change_password(http, gw):
    tokens = client.register(http, gw, client.unique_email("profile"))
    headers = client.bearer(tokens)
    for body in (
        {"is_staff": True, "is_superuser": True, "is_active": False, "id": 1},
        {"first_name": "Eve", "is_staff": True, "date_joined": "2000-01-01T00:00:00Z"},
    ):
        response = http.patch(f"{gw}/api/auth/profile/", headers=headers, json=body, timeout=20)
        assert response.status_code in (200, 400), response.text
    password = http.patch(
        f"{gw}/api/auth/profile/", headers=headers, json={"password": "hijacked-123"}, timeout=20
    )
    assert password.status_code == 400, password.text
    profile = http.get(f"{gw}/api/auth/profile/", headers=headers, timeout=client.TIMEOUT).json()
    assert profile["is_staff"] is False
    assert profile["is_active"] is True
    assert profile["id"] == tokens["user"]["id"]
    assert not profile["date_joined"].startswith("2000")
    login = http.post(
        f"{gw}/api/auth/login/",
        json={"email": tokens["user"]["email"], "password": client.PASSWORD},
        timeout=client.TIMEOUT,
    )
    assert login.status_code == 200, login.text


def test_profile_cannot_take_another_users_email_or_username(http, gw):
    first = client.register(http, gw, client.unique_email("first"))
    second = client.register(http, gw, client.unique_email("second"))
    for field in ("email", "username"):
        taken = first["user"][field]
        response = http.patch(
            f"{gw}/api/auth/profile/",
            headers=client.bearer(second),
            json={field: taken.upper()},
            timeout=client.TIMEOUT,
        )
        assert response.status_code == 400, (field, response.text)
    assert (
        http.get(
            f"{gw}/api/auth/profile/", headers=client.bearer(second), timeout=client.TIMEOUT
        ).json()["email"]
        == second["user"]["email"]
    )
