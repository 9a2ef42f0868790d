"""The whole flow of a mobile or web client through clients generated from our OpenAPI schemas
(conftest.py), using only the generated code: every call is a generated function, every answer
parses into the generated model its status documents, with nothing left over in a model's
`additional_properties` (but for the field errors of a 400, which the schema puts there)."""

import importlib
import uuid
from http import HTTPStatus
from io import BytesIO
from typing import Any
from urllib.parse import parse_qs, urlsplit

import attrs
import pytest
import requests

from devstack import client as http_client
from devstack import samples


def api(generated, service: str, module: str) -> Any:
    """One generated operation, e.g. api(generated, "media", "media.media_create")."""
    return importlib.import_module(f"{service}_client.api.{module}")


def models(generated, service: str) -> Any:
    return importlib.import_module(f"{service}_client.models")


def no_surprises(value: Any, path: str = "answer") -> None:
    """Every field of the answer was one the schema declares: no model (nested ones included)
    kept anything in `additional_properties`."""
    if isinstance(value, list):
        for index, item in enumerate(value):
            no_surprises(item, f"{path}[{index}]")
        return
    if not attrs.has(type(value)):
        return
    extra = getattr(value, "additional_properties", {})
    assert not extra, f"{path} ({type(value).__name__}) has undeclared fields: {extra}"
    for field in attrs.fields(type(value)):
        if field.name != "additional_properties":
            no_surprises(getattr(value, field.name), f"{path}.{field.name}")


def parsed(response, status: int, model: type) -> Any:
    """The answer's parsed body, after checking its status and model."""
    assert response.status_code == status, (response.status_code, response.content[:2000])
    assert isinstance(response.parsed, model), (type(response.parsed), response.content[:2000])
    no_surprises(response.parsed)
    return response.parsed


@pytest.fixture(scope="module")
def clients(generated, gw):
    auth, media = generated["auth"], generated["media"]
    anonymous = auth.Client(base_url=f"{gw}/api/auth", raise_on_unexpected_status=True)
    return {"auth": auth, "media": media, "anonymous": anonymous, "gw": gw}


def signed_in(clients, access: str):
    """The two authenticated clients of one access token."""
    gw = clients["gw"]
    return (
        clients["auth"].AuthenticatedClient(
            base_url=f"{gw}/api/auth", token=access, raise_on_unexpected_status=True
        ),
        clients["media"].AuthenticatedClient(
            base_url=f"{gw}/api/media", token=access, raise_on_unexpected_status=True
        ),
    )


@pytest.fixture(scope="module")
def account(generated, clients) -> dict:
    """A new account, registered through the generated client; then signed in by email."""
    auth_models = models(generated, "auth")
    email = http_client.unique_email("generated")
    registered = parsed(
        api(generated, "auth", "register.register").sync_detailed(
            client=clients["anonymous"],
            body=auth_models.RegisterRequest(
                email=email,
                password=http_client.PASSWORD,
                first_name="Grace",
                last_name="Hopper",
            ),
        ),
        HTTPStatus.CREATED,
        auth_models.Registered,
    )
    assert registered.user.email == email
    signed = parsed(
        api(generated, "auth", "login.login").sync_detailed(
            client=clients["anonymous"],
            body=auth_models.LoginRequest(email=email, password=http_client.PASSWORD),
        ),
        HTTPStatus.OK,
        auth_models.SignedIn,
    )
    assert signed.user.id == registered.user.id
    return {"email": email, "access": signed.access, "refresh": signed.refresh}


def test_profile_and_sessions(generated, clients, account):
    auth_models = models(generated, "auth")
    auth_client, _ = signed_in(clients, account["access"])

    user = parsed(
        api(generated, "auth", "profile.profile_retrieve").sync_detailed(client=auth_client),
        HTTPStatus.OK,
        auth_models.User,
    )
    sessions = api(generated, "auth", "sessions.sessions_list").sync_detailed(client=auth_client)

    assert user.email == account["email"]
    assert sessions.status_code == HTTPStatus.OK
    assert all(isinstance(session, auth_models.Session) for session in sessions.parsed)
    no_surprises(sessions.parsed)
    assert sum(session.current for session in sessions.parsed) == 1


def test_media_flow(generated, clients, account):
    media_models = models(generated, "media")
    types = importlib.import_module("media_client.types")
    _, media = signed_in(clients, account["access"])
    create = api(generated, "media", "media.media_create")

    record = parsed(
        create.sync_detailed(
            client=media,
            body=media_models.MediaCreateRequest(
                name="a record",
                type_=media_models.TypeEnum.VIDEO,
                size=1234,
                storage_path="elsewhere/clip.mp4",
                description="no file",
            ),
        ),
        HTTPStatus.CREATED,
        media_models.Media,
    )
    assert record.file is None
    assert record.size == 1234

    png = samples.png_bytes(seed=7)
    uploaded = parsed(
        create.sync_detailed(
            client=media,
            body=media_models.MediaUploadRequest(
                name="a photo",
                type_=media_models.TypeEnum.IMAGE,
                file=types.File(payload=BytesIO(png), file_name="photo.png", mime_type="image/png"),
                description="uploaded by the generated client",
            ),
        ),
        HTTPStatus.CREATED,
        media_models.Media,
    )
    assert uploaded.size == len(png)
    assert uploaded.mime_type == "image/png"

    # The list, with filters.
    images = parsed(
        api(generated, "media", "media.media_list").sync_detailed(
            client=media, type_=media_models.TypeEnum.IMAGE, search="photo", page_size=5
        ),
        HTTPStatus.OK,
        media_models.PaginatedMediaList,
    )
    assert [item.id for item in images.results] == [uploaded.id]

    # The bytes, whole and ranged, through the generated calls: bearer and signed URL.
    file_call = api(generated, "media", "media.media_file")
    whole = parsed(
        file_call.sync_detailed(str(uploaded.id), client=media), HTTPStatus.OK, types.File
    )
    assert whole.payload.read() == png
    ranged = parsed(
        file_call.sync_detailed(str(uploaded.id), client=media, range_="bytes=0-7"),
        HTTPStatus.PARTIAL_CONTENT,
        types.File,
    )
    assert ranged.payload.read() == png[:8]
    signed = parse_qs(urlsplit(uploaded.file).query)
    anonymous_media = clients["media"].Client(
        base_url=f"{clients['gw']}/api/media", raise_on_unexpected_status=True
    )
    by_link = parsed(
        api(generated, "media", "files.files_retrieve").sync_detailed(
            uploaded.id,
            client=anonymous_media,
            expires=int(signed["expires"][0]),
            signature=signed["signature"][0],
        ),
        HTTPStatus.OK,
        types.File,
    )
    assert by_link.payload.read() == png

    # A collection: create, add, see it there, remove.
    collection = parsed(
        api(generated, "media", "collections.collections_create").sync_detailed(
            client=media, body=media_models.CollectionRequest(name="trip", description="")
        ),
        HTTPStatus.CREATED,
        media_models.CollectionDetail,
    )
    added = parsed(
        api(generated, "media", "media.media_add_to_collection").sync_detailed(
            str(uploaded.id),
            client=media,
            body=media_models.AddToCollectionRequest(collection_id=collection.id),
        ),
        HTTPStatus.OK,
        media_models.Media,
    )
    assert added.collection == collection.id
    detail = parsed(
        api(generated, "media", "collections.collections_retrieve").sync_detailed(
            str(collection.id), client=media
        ),
        HTTPStatus.OK,
        media_models.CollectionDetail,
    )
    assert [item.id for item in detail.media] == [uploaded.id]
    removed = parsed(
        api(generated, "media", "media.media_remove_from_collection").sync_detailed(
            str(uploaded.id), client=media
        ),
        HTTPStatus.OK,
        media_models.Media,
    )
    assert removed.collection is None

    # Soft delete, the trash, restore.
    deleted = api(generated, "media", "media.media_destroy").sync_detailed(
        str(record.id), client=media
    )
    assert deleted.status_code == HTTPStatus.NO_CONTENT
    trash = parsed(
        api(generated, "media", "media.media_list").sync_detailed(client=media, is_deleted=True),
        HTTPStatus.OK,
        media_models.PaginatedMediaList,
    )
    assert [item.id for item in trash.results] == [record.id]
    restored = parsed(
        api(generated, "media", "media.media_restore").sync_detailed(str(record.id), client=media),
        HTTPStatus.OK,
        media_models.Media,
    )
    assert restored.is_deleted is False


def test_refresh_and_logout(generated, clients, account):
    auth_models = models(generated, "auth")
    refreshed = parsed(
        api(generated, "auth", "token.token_refresh").sync_detailed(
            client=clients["anonymous"], body=auth_models.RefreshRequest(refresh=account["refresh"])
        ),
        HTTPStatus.OK,
        auth_models.Refreshed,
    )
    auth_client, _ = signed_in(clients, refreshed.access)

    logged_out = api(generated, "auth", "logout.logout").sync_detailed(
        client=auth_client, body=auth_models.LogoutRequest(refresh=account["refresh"])
    )
    refused = parsed(
        api(generated, "auth", "token.token_refresh").sync_detailed(
            client=clients["anonymous"], body=auth_models.RefreshRequest(refresh=account["refresh"])
        ),
        HTTPStatus.BAD_REQUEST,
        auth_models.RefreshError,
    )

    assert logged_out.status_code == HTTPStatus.RESET_CONTENT
    assert refused.error == auth_models.ErrorEnum.INVALID_GRANT


def field_errors(error) -> dict:
    """A ValidationError's field errors: the additional properties the schema declares."""
    assert all(isinstance(messages, list) for messages in error.additional_properties.values())
    return error.additional_properties


def test_errors_parse_into_their_models(generated, clients, stack):
    auth_models, media_models = models(generated, "auth"), models(generated, "media")
    types = importlib.import_module("media_client.types")
    with requests.Session() as http:
        tokens = http_client.register(http, clients["gw"], http_client.unique_email("errors"))
    _, media = signed_in(clients, tokens["access"])
    create = api(generated, "media", "media.media_create")

    # 400: field errors, typed.
    invalid = create.sync_detailed(
        client=media,
        body=media_models.MediaCreateRequest(name="", type_=media_models.TypeEnum.AUDIO),
    )
    assert invalid.status_code == HTTPStatus.BAD_REQUEST
    assert isinstance(invalid.parsed, media_models.ValidationError)
    assert "name" in field_errors(invalid.parsed)
    mismatch = create.sync_detailed(
        client=media,
        body=media_models.MediaUploadRequest(
            name="not audio",
            type_=media_models.TypeEnum.AUDIO,
            file=types.File(payload=BytesIO(samples.png_bytes()), file_name="a.png"),
        ),
    )
    assert isinstance(mismatch.parsed, media_models.ValidationError), mismatch.content
    assert "type" in field_errors(mismatch.parsed)

    # 401: a token the service refuses.
    _, stranger = signed_in(clients, "not-a-token")
    unauthorized = parsed(
        api(generated, "media", "media.media_list").sync_detailed(client=stranger),
        HTTPStatus.UNAUTHORIZED,
        media_models.Error,
    )
    assert unauthorized.code

    # 404: no such media (or another user's).
    missing = parsed(
        api(generated, "media", "media.media_retrieve").sync_detailed(
            str(uuid.uuid4()), client=media
        ),
        HTTPStatus.NOT_FOUND,
        media_models.Error,
    )
    assert missing.message

    # 413: a file over the stack's limit.
    too_large = parsed(
        create.sync_detailed(
            client=media,
            body=media_models.MediaUploadRequest(
                name="too large",
                type_=media_models.TypeEnum.IMAGE,
                file=types.File(
                    payload=BytesIO(b"\0" * (stack.max_upload_size + 1)), file_name="a.png"
                ),
            ),
        ),
        HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
        media_models.Error,
    )
    assert too_large.code == "upload_too_large"

    # 429: failed logins of one account past its limit.
    login = api(generated, "auth", "login.login")
    wrong = auth_models.LoginRequest(username=tokens["user"]["email"], password="wrong password")
    for _ in range(20):
        answer = login.sync_detailed(client=clients["anonymous"], body=wrong)
        if answer.status_code != HTTPStatus.BAD_REQUEST:
            break
    throttled = parsed(answer, HTTPStatus.TOO_MANY_REQUESTS, auth_models.Error)
    assert int(answer.headers["Retry-After"]) > 0
    assert throttled.code


def test_an_account_is_deleted_with_its_password(generated, clients):
    auth_models = models(generated, "auth")
    with requests.Session() as http:
        tokens = http_client.register(http, clients["gw"], http_client.unique_email("leaving"))
    auth_client, _ = signed_in(clients, tokens["access"])
    destroy = api(generated, "auth", "profile.profile_destroy")

    refused = destroy.sync_detailed(
        client=auth_client, body=auth_models.AccountDeleteRequest(password="not my password")
    )
    deleted = destroy.sync_detailed(
        client=auth_client, body=auth_models.AccountDeleteRequest(password=http_client.PASSWORD)
    )
    gone = api(generated, "auth", "login.login").sync_detailed(
        client=clients["anonymous"],
        body=auth_models.LoginRequest(
            username=tokens["user"]["email"], password=http_client.PASSWORD
        ),
    )

    assert refused.status_code == HTTPStatus.BAD_REQUEST
    assert isinstance(refused.parsed, auth_models.ValidationError), refused.content
    assert "password" in field_errors(refused.parsed)
    assert deleted.status_code == HTTPStatus.NO_CONTENT
    assert gone.status_code == HTTPStatus.BAD_REQUEST
