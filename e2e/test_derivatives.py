"""Derived media through the gateway with the real job worker: each kind of upload answers
`processing: pending`, turns `ready` once the worker has made its thumbnail, preview and
placeholder, and their signed URLs serve images that nginx sends."""

import io

import pytest
import requests
from PIL import Image, ImageStat

from devstack import client, samples
from devstack.client import bearer, expect, register, upload

# Every kind SPEC.md names: (name, media type, file bytes, whether it has a picture to show).
SAMPLES = {
    "jpeg": ("image", lambda: samples.phone_photo_bytes(), True),
    "png": ("image", lambda: samples.png_bytes(400, 300), True),
    "gif": ("image", lambda: samples.picture_bytes("GIF"), True),
    "webp": ("image", lambda: samples.picture_bytes("WEBP"), True),
    "heic": ("image", lambda: samples.picture_bytes("HEIF", quality=70), True),
    "avif": ("image", lambda: samples.picture_bytes("AVIF"), True),
    "mp4": ("video", lambda: samples.black_start_video_bytes(".mp4"), True),
    "mov": ("video", lambda: samples.black_start_video_bytes(".mov"), True),
    "mkv": ("video", lambda: samples.black_start_video_bytes(".mkv"), True),
    "webm": (
        "video",
        lambda: samples.black_start_video_bytes(
            ".webm", "-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8"
        ),
        True,
    ),
    "mp3": (
        "audio",
        lambda: samples.song_with_cover_bytes(".mp3", "-c:a", "libmp3lame", "-id3v2_version", "3"),
        True,
    ),
    "m4a": ("audio", lambda: samples.song_with_cover_bytes(".m4a", "-c:a", "aac"), True),
    "flac": ("audio", lambda: samples.song_with_cover_bytes(".flac", "-c:a", "flac"), True),
    "opus": (
        "audio",
        lambda: samples.ffmpeg_bytes(
            ".ogg", "-f", "lavfi", "-i", "sine=duration=2", "-c:a", "libopus"
        ),
        False,
    ),
    "wav": ("audio", lambda: samples.wav_bytes(seconds=1.0), False),
}
READY_TIMEOUT = 90


@pytest.fixture(scope="module")
def owner(stack) -> dict:
    with requests.Session() as http:
        return register(http, stack.gateway)


@pytest.fixture(scope="module")
def uploads(stack, owner) -> dict[str, dict]:
    """One upload of each kind, all sent before any is waited for: the 201 of each."""
    answers = {}
    with requests.Session() as http:
        for kind, (media_type, content, _) in SAMPLES.items():
            response = upload(
                http, stack.gateway, owner, content(), name=kind, media_type=media_type
            )
            answers[kind] = expect(response, 201).json()
    return answers


def settled(stack, owner, media_id: str) -> dict:
    """The media once the worker is done with it (ready or failed)."""
    return client.settled(stack.gateway, owner, media_id, timeout=READY_TIMEOUT)


def test_an_upload_answers_before_its_derivatives_exist(uploads):
    for media in uploads.values():
        assert media["processing"] == "pending"
        assert (media["thumbnail"], media["preview"], media["placeholder"]) == (None, None, None)


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_every_kind_gets_its_derivatives_from_the_worker(stack, owner, uploads, kind):
    _, _, has_picture = SAMPLES[kind]

    media = settled(stack, owner, uploads[kind]["id"])

    assert media["processing"] == "ready", media
    if not has_picture:
        assert (media["thumbnail"], media["preview"], media["placeholder"]) == (None, None, None)
        assert media["duration"] > 0
        return
    assert media["placeholder"]
    for field, content_types, longest in (
        ("thumbnail", {"image/webp"}, 320),
        ("preview", {"image/jpeg", "image/webp"}, 1440),
    ):
        url = media[field]
        assert url.startswith(f"{stack.gateway}/api/media/files/{media['id']}/{field}/?")
        response = requests.get(url, timeout=10)  # no token: the signature is the permission
        assert response.status_code == 200, response.text
        assert response.headers["Content-Type"] in content_types
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        picture = Image.open(io.BytesIO(response.content))
        assert picture.format in ("WEBP", "JPEG")
        assert max(picture.size) <= longest
        assert not picture.getexif()


def test_a_phone_photo_is_shown_upright(stack, owner, uploads):
    media = settled(stack, owner, uploads["jpeg"]["id"])

    assert (media["width"], media["height"]) == (800, 1200)
    preview = Image.open(io.BytesIO(requests.get(media["preview"], timeout=10).content))
    assert preview.size == (800, 1200)
    red, green, _ = preview.convert("RGB").getpixel((600, 300))  # the marker, turned
    assert red > 200
    assert green < 60


def test_a_video_poster_skips_its_black_start(stack, owner, uploads):
    media = settled(stack, owner, uploads["mp4"]["id"])

    poster = Image.open(io.BytesIO(requests.get(media["preview"], timeout=10).content))
    assert ImageStat.Stat(poster.convert("L")).mean[0] > 40
    assert (media["width"], media["height"], media["duration"], media["codec"]) == (
        320,
        240,
        4.0,
        "h264",
    )


def test_derivative_bytes_are_sent_by_nginx(stack, owner, uploads):
    media = settled(stack, owner, uploads["png"]["id"])

    response = requests.get(media["thumbnail"], timeout=10)

    assert response.status_code == 200
    # nginx's own answer for a file it sends (the service would stream it without an ETag).
    assert "ETag" in response.headers
    assert "X-Accel-Redirect" not in response.headers
    # Range, which nginx answers for the file it sends itself.
    ranged = requests.get(media["thumbnail"], headers={"Range": "bytes=0-3"}, timeout=10)
    assert ranged.status_code == 206
    assert ranged.content == response.content[:4] == b"RIFF"


def test_a_corrupt_video_fails_and_the_worker_carries_on(stack, owner):
    corrupt = bytearray(samples.black_start_video_bytes(".mp4"))
    start = corrupt.index(b"mdat") + 4
    corrupt[start:] = bytes((offset * 131 + 7) % 256 for offset in range(len(corrupt) - start))
    with requests.Session() as http:
        broken = expect(
            upload(http, stack.gateway, owner, bytes(corrupt), name="broken", media_type="video"),
            201,
        ).json()
        after = expect(
            upload(http, stack.gateway, owner, samples.png_bytes(64, 48, seed=7), name="after"),
            201,
        ).json()

    failed = settled(stack, owner, broken["id"])
    assert failed["processing"] == "failed"
    assert (failed["thumbnail"], failed["preview"]) == (None, None)
    assert settled(stack, owner, after["id"])["processing"] == "ready"


def test_the_list_shows_the_grid_fields(stack, owner, uploads):
    for media in uploads.values():
        settled(stack, owner, media["id"])

    response = requests.get(
        f"{stack.gateway}/api/media?page_size=100&type=image", headers=bearer(owner), timeout=10
    )

    listed = expect(response, 200).json()["results"]
    assert listed
    for media in listed:
        assert media["processing"] in ("ready", "failed")
        assert {"thumbnail", "preview", "placeholder"} <= media.keys()
