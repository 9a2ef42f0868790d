from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory
from django.utils import timezone

from media_handler.files.signing import signed_file_url
from media_handler.files.storage import media_storage
from media_handler.models import Media
from media_handler.tasks import make_derivatives

from . import samples
from .factories import MediaFactory
from .helpers import ALICE, assert_status, png_bytes, wav_bytes


def body_of(response) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def upload(client, content: bytes, *, media_type: str = "image", name: str = "Holiday") -> dict:
    form = {"name": name, "type": media_type, "file": SimpleUploadedFile("x", content)}
    response = client.post("/api/media/", form, format="multipart")
    assert_status(response, 201)
    return response.data


def with_query(url: str, **changes) -> str:
    parts = urlsplit(url)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    query.update(changes)
    query = {key: value for key, value in query.items() if value is not None}
    return f"{parts.path}?{urlencode(query)}"


@pytest.fixture
def png(alice):
    content = png_bytes()
    return upload(alice, content) | {"content": content}


@pytest.fixture
def wav(alice):
    content = wav_bytes(0.25)
    return upload(alice, content, media_type="audio") | {"content": content}


def test_signed_url_serves_the_bytes_without_authorization(anonymous, png):
    response = anonymous.get(png["file"])
    assert_status(response, 200)
    assert body_of(response) == png["content"]
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"] == 'inline; filename="Holiday.png"'
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Length"] == str(len(png["content"]))
    assert response["Cache-Control"].startswith("private, max-age=")


def test_signed_url_ignores_a_stale_authorization_header(png, api_client_for):
    client = api_client_for(ALICE)
    client.credentials(HTTP_AUTHORIZATION="Bearer expired.or.garbage")
    assert_status(client.get(png["file"]), 200)


def test_signed_url_without_trailing_slash(anonymous, png):
    assert_status(anonymous.get(png["file"].replace("/?", "?")), 200)


@pytest.mark.parametrize(
    "changes",
    [
        {"signature": "0" * 64},
        {"signature": "é"},
        {"signature": None},
        {"expires": None},
        {"expires": "abc"},
        {"expires": "99999999999"},  # a later expiry does not match the signature
        {"expires": "\u00b2"},  # a digit to str.isdigit(), not to int()
        {"expires": "\u0661\u0662"},  # Arabic-Indic digits
        {"expires": "9" * 5000},  # past what int() converts
    ],
    ids=[
        "wrong",
        "non-ascii",
        "no-signature",
        "no-expires",
        "bad-expires",
        "extended",
        "superscript-expires",
        "arabic-indic-expires",
        "huge-expires",
    ],
)
def test_tampered_signed_url_is_403(anonymous, png, changes):
    response = anonymous.get(with_query(png["file"], **changes))
    assert_status(response, 403)
    assert response.data["code"] == "bad_signature"
    assert response.data["message"]


def test_expired_signed_url_is_403(anonymous, png, rf_request):
    media = Media.objects.get(pk=png["id"])
    an_hour_and_more_ago = int(timezone.now().timestamp()) - 2 * 3600
    expired = signed_file_url(rf_request, media, now=an_hour_and_more_ago)
    assert_status(anonymous.get(expired), 403)


def test_another_files_signature_is_403(alice, anonymous, png):
    other = upload(alice, png_bytes(5, 5))
    other_query = urlsplit(other["file"]).query
    forged = f"{urlsplit(png['file']).path}?{other_query}"
    assert_status(anonymous.get(forged), 403)


def test_signed_url_of_soft_deleted_media_is_404_until_restored(alice, anonymous, png):
    assert_status(alice.delete(f"/api/media/{png['id']}/"), 204)
    assert_status(anonymous.get(png["file"]), 404)
    assert_status(alice.post(f"/api/media/{png['id']}/restore/"), 200)
    assert_status(anonymous.get(png["file"]), 200)


def test_signed_url_is_stable_for_a_few_minutes(alice, png):
    assert alice.get(f"/api/media/{png['id']}/").data["file"] == png["file"]


def test_signed_url_lives_about_the_configured_age(png, settings):
    expires = int(parse_qs(urlsplit(png["file"]).query)["expires"][0])
    remaining = expires - timezone.now().timestamp()
    age = settings.FILE_URL_MAX_AGE_SECONDS
    assert age * 11 / 12 - 5 <= remaining <= age


def test_signed_url_uses_the_host_the_client_used(alice, settings):
    settings.USE_X_FORWARDED_HOST = True
    form = {"name": "p", "type": "image", "file": SimpleUploadedFile("p.png", png_bytes())}
    response = alice.post(
        "/api/media/", form, format="multipart", HTTP_X_FORWARDED_HOST="192.168.1.20:3000"
    )
    assert response.data["file"].startswith("http://192.168.1.20:3000/api/media/files/")


def test_record_without_a_file_has_no_url(alice):
    MediaFactory(user=ALICE)
    assert alice.get("/api/media/").json()["results"][0]["file"] is None


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [("bytes=10-19", 10, 19), ("bytes=100-", 100, None), ("bytes=-5", -5, None)],
)
def test_range_request_returns_the_right_bytes(anonymous, wav, header, start, end):
    content = wav["content"]
    response = anonymous.get(wav["file"], HTTP_RANGE=header)
    assert_status(response, 206)
    expected = content[start : None if end is None else end + 1]
    assert body_of(response) == expected
    first = start if start >= 0 else len(content) + start
    assert response["Content-Range"] == f"bytes {first}-{first + len(expected) - 1}/{len(content)}"
    assert response["Content-Length"] == str(len(expected))
    assert response["Content-Type"] == "audio/x-wav"


def test_range_past_the_end_is_clamped(anonymous, wav):
    size = len(wav["content"])
    response = anonymous.get(wav["file"], HTTP_RANGE=f"bytes={size - 3}-{size + 100}")
    assert_status(response, 206)
    assert body_of(response) == wav["content"][-3:]


def assert_is_a_bare_416(response, size: int) -> None:
    """A refused range: JSON, as every error is (without the gateway too), and none of the
    file's headers: an error is kept by no cache."""
    assert_status(response, 416)
    assert response["Content-Range"] == f"bytes */{size}"
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "range_not_satisfiable"
    assert response.json()["message"]
    assert response["Cache-Control"] == "no-store"
    assert "Content-Disposition" not in response
    assert "X-Accel-Redirect" not in response


@pytest.mark.parametrize("header", ["bytes=99999999-", "bytes=-0"])
def test_unsatisfiable_range_is_416(anonymous, wav, header):
    response = anonymous.get(wav["file"], HTTP_RANGE=header)
    assert_is_a_bare_416(response, len(wav["content"]))


@pytest.mark.parametrize(
    "header",
    [
        "bytes=5-3",
        "bytes=x-y",
        "bytes=\u0661-\u0662",
        "bytes=- 5",
        "bytes=0-3,",
        "bytes=" + "1" * 5000 + "-",
        "bytes=0-" + "1" * 5000,
        "bytes=-" + "1" * 5000,
        "bytes=0-99999999999999999999",
    ],
    ids=lambda header: header[:20],
)
def test_a_malformed_range_is_416_as_nginx_answers_it(anonymous, wav, header):
    # RFC 9110 lets a server ignore or refuse an invalid range; nginx, which sends the bytes
    # through the gateway, refuses it, and so does the service, so both paths agree.
    response = anonymous.get(wav["file"], HTTP_RANGE=header)
    assert_is_a_bare_416(response, len(wav["content"]))


@pytest.mark.parametrize(
    "header", ["bytes=0-1,4-5", "bytes=0-0, 2-2", "items=0-3", "bytes=", "bytes0-3"]
)
def test_multiple_ranges_or_another_unit_get_the_whole_file(anonymous, wav, header):
    response = anonymous.get(wav["file"], HTTP_RANGE=header)
    assert_status(response, 200)
    assert body_of(response) == wav["content"]


@pytest.mark.parametrize(
    ("header", "expected"), [("Bytes=0-3", slice(0, 4)), ("BYTES=-4", slice(-4, None))]
)
def test_the_range_unit_is_case_insensitive(anonymous, wav, header, expected):
    response = anonymous.get(wav["file"], HTTP_RANGE=header)
    assert_status(response, 206)
    assert body_of(response) == wav["content"][expected]


def test_a_range_past_the_end_among_others_is_left_out(anonymous, wav):
    size = len(wav["content"])
    response = anonymous.get(wav["file"], HTTP_RANGE=f"bytes={size}-,2-5")
    assert_status(response, 206)
    assert body_of(response) == wav["content"][2:6]


@pytest.mark.parametrize("if_range", ['"6b176833-14"', "Tue, 08 Dec 2026 02:15:15 GMT", ""])
@pytest.mark.parametrize("header", ["bytes=0-3", "bytes=99999999-"])
def test_a_range_with_an_if_range_gets_the_whole_file(anonymous, wav, if_range, header):
    # The service's answer carries no validator (ETag, Last-Modified) a client could hold, so
    # an If-Range never matches it: RFC 9110 then wants the whole file, not the range.
    response = anonymous.get(wav["file"], HTTP_RANGE=header, HTTP_IF_RANGE=if_range)
    assert_status(response, 200)
    assert body_of(response) == wav["content"]


GATEWAY = {"HTTP_X_SENDFILE_TYPE": "X-Accel-Redirect"}


def test_through_the_gateway_a_refused_range_is_the_services_bare_416(anonymous, wav, settings):
    """nginx (or the store) would refuse the range too, but nginx's 416 would carry the file's
    headers it had set before it read the range: the service refuses it before handing over."""
    settings.USE_X_ACCEL_REDIRECT = True

    refused = anonymous.get(wav["file"], HTTP_RANGE="bytes=5-3", **GATEWAY)
    past_the_end = anonymous.get(wav["file"], HTTP_RANGE="bytes=99999999-", **GATEWAY)
    handed_over = anonymous.get(wav["file"], HTTP_RANGE="Bytes=0-3", **GATEWAY)
    # With an If-Range nginx decides (it holds the validators): the range is not judged here.
    conditional = anonymous.get(wav["file"], HTTP_RANGE="bytes=5-3", HTTP_IF_RANGE='"x"', **GATEWAY)

    assert_is_a_bare_416(refused, len(wav["content"]))
    assert_is_a_bare_416(past_the_end, len(wav["content"]))
    for response in (handed_over, conditional):
        assert_status(response, 200)
        assert "X-Accel-Redirect" in response


@pytest.mark.local_storage  # a derivative's size in the bucket would cost a request to the store
def test_through_the_gateway_a_derivatives_refused_range_is_the_services_bare_416(
    alice, anonymous, settings
):
    settings.USE_X_ACCEL_REDIRECT = True
    media = upload(alice, samples.picture_bytes("PNG"))
    make_derivatives.run(media_id=media["id"])
    thumbnail = alice.get(f"/api/media/{media['id']}/").json()["thumbnail"]
    size = media_storage().size(Media.objects.get(pk=media["id"]).thumbnail_path)

    response = anonymous.get(thumbnail, HTTP_RANGE=f"bytes={size}-", **GATEWAY)

    assert_is_a_bare_416(response, size)


@pytest.mark.local_storage  # nginx reads MEDIA_ROOT (the bucket: test_object_storage)
def test_x_accel_redirect_mode_lets_nginx_send_the_bytes(anonymous, png, settings):
    settings.USE_X_ACCEL_REDIRECT = True
    response = anonymous.get(png["file"], HTTP_X_SENDFILE_TYPE="X-Accel-Redirect")
    assert_status(response, 200)
    assert response["X-Accel-Redirect"] == f"/_protected_media/{png['storage_path']}"
    assert response.content == b""
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert_status(anonymous.get(with_query(png["file"], signature="0" * 64)), 403)


@pytest.mark.parametrize("sendfile_type", [None, "X-Sendfile", ""])
def test_bytes_are_streamed_to_a_client_not_behind_the_gateway(
    anonymous, png, settings, sendfile_type
):
    settings.USE_X_ACCEL_REDIRECT = True
    extra = {} if sendfile_type is None else {"HTTP_X_SENDFILE_TYPE": sendfile_type}
    response = anonymous.get(png["file"], **extra)
    assert_status(response, 200)
    assert "X-Accel-Redirect" not in response
    assert body_of(response) == png["content"]


def test_owner_gets_the_file_with_the_bearer_token(alice, png, layout):
    response = alice.get(f"{layout['media']}{png['id']}/file/", HTTP_RANGE="bytes=0-3")
    assert_status(response, 206)
    assert body_of(response) == png["content"][:4]


def test_owner_file_route_needs_a_token(anonymous, png):
    assert_status(anonymous.get(f"/api/media/{png['id']}/file/"), 401)


def test_owner_file_route_of_a_record_without_a_file_is_404(alice):
    media = MediaFactory(user=ALICE)
    response = alice.get(f"/api/media/{media.pk}/file/")
    assert_status(response, 404)
    assert response.data["code"] == "no_file"


@pytest.mark.parametrize(
    ("name", "filename"),
    [
        ("Plage été", "Plage_ete.png"),
        ('a"b\\c', "a_b_c.png"),
        ("../../etc/passwd", "passwd.png"),
        ("日本", "media.png"),
        ("holiday.jpg", "holiday.png"),
    ],
)
def test_download_name_is_ascii_safe(alice, anonymous, name, filename):
    data = upload(alice, png_bytes(), name=name)
    disposition = anonymous.get(data["file"])["Content-Disposition"]
    assert disposition == f'inline; filename="{filename}"'


def test_signed_url_of_an_unknown_id_is_404(anonymous, png):
    other = urlsplit(png["file"])._replace(
        path="/api/media/files/" + "0" * 8 + "-0000-0000-0000-" + "0" * 12 + "/"
    )
    assert_status(anonymous.get(other.geturl()), 404)


@pytest.fixture
def rf_request():
    return RequestFactory().get("/")


def test_a_stored_file_gone_from_disk_is_a_json_404(alice, anonymous, png, settings):
    media_storage().delete(png["storage_path"])
    for client, url in [(anonymous, png["file"]), (alice, f"/api/media/{png['id']}/file/")]:
        response = client.get(url)
        assert_status(response, 404)
        assert response.data["code"] == "file_missing"
