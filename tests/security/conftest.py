"""Two users with media, a file and a collection each, for the attacks."""

from dataclasses import dataclass

import pytest

from devstack import client, samples


@dataclass
class Owner:
    """A signed-in user with one uploaded media (in a collection) and one soft-deleted media."""

    tokens: dict
    media: dict
    collection: dict
    deleted: dict

    @property
    def id(self) -> int:
        return self.tokens["user"]["id"]

    @property
    def headers(self) -> dict:
        return client.bearer(self.tokens)


def make_owner(http, gw: str, prefix: str) -> Owner:
    tokens = client.register(http, gw, client.unique_email(prefix))
    headers = client.bearer(tokens)
    collection = http.post(
        f"{gw}/api/media/collections/",
        headers=headers,
        json={"name": f"{prefix} album", "description": "private"},
        timeout=client.TIMEOUT,
    )
    assert collection.status_code == 201, collection.text
    media = client.upload(
        http,
        gw,
        tokens,
        samples.png_bytes(seed=len(prefix)),
        name=f"{prefix} secret photo",
        data={"collection": collection.json()["id"], "description": f"{prefix} private"},
    )
    assert media.status_code == 201, media.text
    deleted = client.upload(http, gw, tokens, samples.png_bytes(seed=99), name=f"{prefix} trashed")
    assert deleted.status_code == 201, deleted.text
    gone = http.delete(
        f"{gw}/api/media/{deleted.json()['id']}/", headers=headers, timeout=client.TIMEOUT
    )
    assert gone.status_code == 204, gone.text
    return Owner(tokens, media.json(), collection.json(), deleted.json())


@pytest.fixture(scope="module")
def victim(http, gw) -> Owner:
    return make_owner(http, gw, "victim")


@pytest.fixture(scope="module")
def attacker(http, gw) -> Owner:
    return make_owner(http, gw, "attacker")
