"""Each failure the fuzzer found, replayed as one case with the same checks (bugs 4 to 8 in
docs/reliability.md, with their cause and fix)."""

import pytest

from devstack import client


def test_media_without_a_file_matches_the_schema(http, gw, fuzz_user, validate):
    created = validate(
        "media",
        "/media/",
        "POST",
        body={"name": "no file", "type": "image"},
        media_type="application/json",
    )
    assert created.status_code == 201
    media_id = created.json()["id"]
    validate("media", "/media/{id}/", "GET", path_parameters={"id": media_id})
    validate("media", "/media/", "GET")


@pytest.mark.parametrize("path", ["/media/", "/collections/"])
def test_page_past_the_end_is_documented(validate, path):
    response = validate("media", path, "GET", query={"page": "99999"})
    assert response.status_code == 404


def test_refresh_without_a_token_is_documented(validate):
    response = validate(
        "auth", "/token/refresh/", "POST", body={}, media_type="application/json", headers={}
    )
    assert response.status_code == 400


def test_logout_with_an_overlong_token_is_documented(validate, fuzz_user):
    response = validate(
        "auth",
        "/logout/",
        "POST",
        body={"refresh": "0" * 5000},
        media_type="application/json",
        headers=client.bearer(fuzz_user),
    )
    assert response.status_code == 400


def test_collection_search_with_a_nul_byte_is_documented(validate):
    response = validate("media", "/collections/", "GET", query={"search": "a\x00b"})
    assert response.status_code == 400
