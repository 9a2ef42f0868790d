"""Thumbnails, previews and placeholders of real files, made by the worker's own task function
(media.make_derivatives) from uploads stored as the API stores them."""

import base64
import errno
import hashlib
import io
import logging
import resource
import uuid
import warnings

import pytest
import thumbhash
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from PIL import Image, ImageStat

from media_handler import services
from media_handler.files.imaging import thumbhash_placeholder
from media_handler.models import Media, Processing
from media_handler.tasks import make_derivatives

from . import samples
from .factories import MediaFactory
from .helpers import ALICE, assert_status, put_stored, stored_bytes, stored_files

THUMBNAIL_MAX = 320
PREVIEW_MAX = 1440


def upload(client, content: bytes, *, kind: str, name: str = "sample") -> dict:
    form = {"name": name, "type": kind, "file": SimpleUploadedFile(name, content)}
    response = client.post("/api/media/", form, format="multipart")
    assert_status(response, 201)
    return response.json()


def processed(client, media: dict) -> dict:
    """Run the job as the worker runs it, then read the media as its owner does."""
    make_derivatives.run(media_id=media["id"])
    response = client.get(f"/api/media/{media['id']}/")
    assert_status(response, 200)
    return response.json()


def fetched(client, url: str) -> tuple[bytes, str]:
    response = client.get(url)
    assert_status(response, 200)
    return b"".join(response.streaming_content), response["Content-Type"]


def picture(content: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(content))
    image.load()
    return image


def colour_at(image: Image.Image, x: float, y: float):
    """The colour at a fraction of the picture's width and height."""
    rgb = image.convert("RGB")
    return rgb.getpixel((int(x * (rgb.width - 1)), int(y * (rgb.height - 1))))


def stored_names(media_root) -> set[str]:
    return {path.relative_to(media_root).as_posix() for path in stored_files(media_root)}


def is_red(colour) -> bool:
    red, green, blue = colour
    return red > 200 and green < 60 and blue < 60


def assert_no_metadata(content: bytes) -> None:
    image = picture(content)
    assert not image.getexif(), "EXIF left in a derivative"
    assert "icc_profile" not in image.info
    assert "xmp" not in image.info
    for marker in (b"Exif", b"GPS", b"http://ns.adobe.com/xap", b"ICC_PROFILE", b"Ada at home"):
        assert marker not in content, f"{marker!r} left in a derivative"


@pytest.mark.django_db
def test_a_phone_photo_gets_upright_thumbnail_and_preview_without_exif_or_gps(alice):
    # 2400 wide, 1600 high as stored, shown a quarter turn clockwise (orientation 6): upright
    # it is 1600 x 2400, its red top-left quarter now at the top right.
    media = processed(alice, upload(alice, samples.jpeg_with_exif(), kind="image"))

    assert media["processing"] == "ready"
    assert (media["width"], media["height"]) == (1600, 2400)
    thumbnail, thumbnail_type = fetched(alice, media["thumbnail"])
    preview, preview_type = fetched(alice, media["preview"])
    assert (thumbnail_type, preview_type) == ("image/webp", "image/jpeg")
    for content, longest in ((thumbnail, THUMBNAIL_MAX), (preview, PREVIEW_MAX)):
        image = picture(content)
        assert max(image.size) == longest
        assert image.height > image.width
        assert is_red(colour_at(image, 0.75, 0.25))
        assert not is_red(colour_at(image, 0.25, 0.25))
        assert_no_metadata(content)


def test_a_picture_of_another_format_is_never_decoded(tmp_path):
    # One stored before uploads were held to these formats: Pillow's EPS plugin would run
    # Ghostscript on it.
    from media_handler.files.errors import DerivativeError
    from media_handler.files.imaging import open_picture

    eps = tmp_path / "old.eps"
    eps.write_bytes(samples.dos_eps_bytes())

    with pytest.raises(DerivativeError):
        open_picture(str(eps), max_pixels=10**8)


@pytest.mark.django_db
@pytest.mark.parametrize("rotate", ["abc", "inf"])
def test_a_video_whose_rotate_tag_is_no_number_is_shown_as_stored(alice, rotate):
    media = upload(alice, samples.mkv_with_rotate_tag(rotate), kind="video")

    media = processed(alice, media)

    assert media["processing"] == "ready"
    assert (media["width"], media["height"]) == (64, 48)


@pytest.mark.django_db
def test_a_full_size_phone_photo_keeps_its_size_once_processed(alice):
    # 4032 x 3024 (a 12 MP phone camera): decoded at half its size for the preview (DCT
    # scaling), the size recorded is still the photo's, upright.
    content = samples.jpeg_with_exif(4032, 3024, orientation=6)
    media = upload(alice, content, kind="image")
    assert (media["width"], media["height"]) == (3024, 4032)

    media = processed(alice, media)

    assert media["processing"] == "ready"
    assert (media["width"], media["height"]) == (3024, 4032)


@pytest.mark.django_db
def test_an_upload_of_a_png_decodes_none_of_its_pixels(alice, monkeypatch):
    # Its size comes from its header: a small file of many pixels costs the request nothing.
    from PIL import PngImagePlugin

    decoded = []
    load = PngImagePlugin.PngImageFile.load

    def counted(image):
        decoded.append(image.size)
        return load(image)

    monkeypatch.setattr(PngImagePlugin.PngImageFile, "load", counted)
    flat = Image.new("RGBA", (4000, 4000), (10, 200, 30, 255))

    media = upload(alice, samples.picture_bytes("PNG", flat), kind="image")

    assert (media["width"], media["height"]) == (4000, 4000)
    assert decoded == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("content", "size"),
    [(samples.jpeg_with_exif(), (1600, 2400)), (samples.heic_bytes(), (1200, 900))],
    ids=["jpeg-turned-upright", "heic"],
)
def test_an_upload_answers_with_the_size_a_photo_is_shown_at(alice, content, size):
    media = upload(alice, content, kind="image")

    assert (media["width"], media["height"]) == size
    assert media["processing"] == "pending"


@pytest.mark.django_db
def test_the_original_stays_byte_for_byte_the_upload(alice, settings):
    content = samples.jpeg_with_exif()

    media = processed(alice, upload(alice, content, kind="image"))

    stored = stored_bytes(media["storage_path"])
    assert hashlib.sha256(stored).hexdigest() == hashlib.sha256(content).hexdigest()
    assert media["checksum_sha256"] == hashlib.sha256(content).hexdigest()


@pytest.mark.django_db
def test_an_iphone_heic_gets_a_jpeg_preview_a_browser_shows(alice):
    media = processed(alice, upload(alice, samples.heic_bytes(), kind="image"))

    assert media["mime_type"] == "image/heic"
    assert media["processing"] == "ready"
    preview, content_type = fetched(alice, media["preview"])
    assert content_type == "image/jpeg"
    assert preview.startswith(b"\xff\xd8\xff")  # what a browser reads, not HEIF
    assert picture(preview).format == "JPEG"
    assert picture(preview).size == (1200, 900)
    assert_no_metadata(preview)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("content", "preview_format"),
    [
        (samples.picture_bytes("PNG"), "JPEG"),
        (samples.picture_bytes("WEBP", quality=90), "JPEG"),
        (samples.picture_bytes("AVIF", quality=90), "JPEG"),
        (samples.transparent_png(), "WEBP"),
    ],
    ids=["png", "webp", "avif", "png-with-transparency"],
)
def test_every_picture_format_gets_its_derivatives(alice, content, preview_format):
    media = processed(alice, upload(alice, content, kind="image"))

    assert media["processing"] == "ready"
    thumbnail, _ = fetched(alice, media["thumbnail"])
    preview, _ = fetched(alice, media["preview"])
    assert picture(thumbnail).format == "WEBP"
    assert picture(preview).format == preview_format
    assert max(picture(thumbnail).size) <= THUMBNAIL_MAX
    assert picture(preview).size == (media["width"], media["height"])
    assert base64.b64decode(media["placeholder"])


@pytest.mark.django_db
def test_a_transparent_picture_keeps_its_transparency(alice):
    media = processed(alice, upload(alice, samples.transparent_png(), kind="image"))

    thumbnail, _ = fetched(alice, media["thumbnail"])
    corner = picture(thumbnail).convert("RGBA").getpixel((0, 0))
    assert corner[3] == 0


@pytest.mark.django_db
def test_an_animated_gif_is_shown_by_its_first_frame(alice):
    media = processed(alice, upload(alice, samples.animated_gif(), kind="image"))

    thumbnail, _ = fetched(alice, media["thumbnail"])
    assert is_red(colour_at(picture(thumbnail), 0.5, 0.5))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("suffix", "codec_options", "codec"),
    [
        (".mp4", (), "h264"),
        (".mkv", (), "h264"),
        (
            ".webm",
            ("-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "500k"),
            "vp9",
        ),
        (".m4v", (), "h264"),  # Apple's MP4 (libmagic: video/x-m4v)
        (".3g2", (), "h264"),
        (".ogv", ("-c:v", "libtheora"), "theora"),
        (".flv", (), "h264"),
        (".wmv", ("-c:v", "wmv2"), "wmv2"),
    ],
)
def test_a_video_poster_is_not_its_black_first_second(alice, suffix, codec_options, codec):
    content = samples.video_with_black_start(suffix, *codec_options)

    media = processed(alice, upload(alice, content, kind="video"))

    assert media["processing"] == "ready"
    assert (media["width"], media["height"], media["duration"]) == (320, 240, 4.0)
    assert media["codec"] == codec
    poster, content_type = fetched(alice, media["preview"])
    assert content_type == "image/jpeg"
    assert picture(poster).size == (320, 240)
    assert ImageStat.Stat(picture(poster).convert("L")).mean[0] > 40, "a black poster"
    thumbnail, _ = fetched(alice, media["thumbnail"])
    assert ImageStat.Stat(picture(thumbnail).convert("L")).mean[0] > 40


@pytest.mark.django_db
def test_a_video_filmed_upright_reports_and_shows_its_upright_size(alice):
    media = processed(alice, upload(alice, samples.rotated_mov(), kind="video"))

    assert media["mime_type"] == "video/quicktime"
    assert (media["width"], media["height"]) == (240, 320)
    preview, _ = fetched(alice, media["preview"])
    assert picture(preview).size == (240, 320)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("suffix", "codec_options", "codec"),
    [
        (".mp3", ("-c:a", "libmp3lame", "-id3v2_version", "3"), "mp3"),
        (".m4a", ("-c:a", "aac"), "aac"),
        (".flac", ("-c:a", "flac"), "flac"),
    ],
)
def test_audio_cover_art_becomes_its_thumbnail_and_preview(alice, suffix, codec_options, codec):
    content = samples.audio_with_cover(suffix, *codec_options)

    media = processed(alice, upload(alice, content, kind="audio"))

    assert media["processing"] == "ready"
    assert media["codec"] == codec
    assert media["duration"] == pytest.approx(2.0, abs=0.1)
    thumbnail, content_type = fetched(alice, media["thumbnail"])
    assert content_type == "image/webp"
    cover = picture(thumbnail)
    assert cover.size == (300, 300)
    assert is_red(colour_at(cover, 0.25, 0.25))
    assert not is_red(colour_at(cover, 0.75, 0.75))
    assert media["placeholder"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("suffix", "codec_options"),
    [(".ogg", ("-c:a", "libopus")), (".wav", ()), (".aiff", ())],
    ids=["opus", "wav", "aiff"],
)
def test_audio_without_cover_is_ready_with_nothing_to_show(alice, suffix, codec_options):
    media = processed(
        alice, upload(alice, samples.audio_without_cover(suffix, *codec_options), kind="audio")
    )

    assert media["processing"] == "ready"
    assert media["duration"] == pytest.approx(2.0, abs=0.1)
    assert (media["thumbnail"], media["preview"], media["placeholder"]) == (None, None, None)


@pytest.mark.django_db
def test_an_anamorphic_video_reports_the_size_it_is_shown_at(alice):
    media = processed(alice, upload(alice, samples.anamorphic_mp4(), kind="video"))

    assert (media["width"], media["height"]) == (1024, 576)
    poster, _ = fetched(alice, media["preview"])
    assert picture(poster).width / picture(poster).height == pytest.approx(1024 / 576, rel=0.01)


@pytest.mark.django_db
def test_a_picture_transparent_by_a_colour_key_keeps_its_transparency(alice):
    media = processed(alice, upload(alice, samples.png_with_colour_key(), kind="image"))

    preview, content_type = fetched(alice, media["preview"])
    assert content_type == "image/webp"
    shown = picture(preview).convert("RGBA")
    width, height = shown.size
    assert shown.getpixel((width // 10, height // 10))[3] == 0  # the keyed-out corner
    assert shown.getpixel((width * 3 // 4, height * 3 // 4))[3] == 255


@pytest.mark.django_db
def test_a_damaged_avif_fails_instead_of_staying_pending(alice, caplog):
    media = upload(alice, samples.damaged_avif(), kind="image")

    with caplog.at_level(logging.WARNING, logger="media_handler.services"):
        media = processed(alice, media)

    assert media["processing"] == "failed"
    assert "cannot be decoded" in caplog.text


@pytest.mark.django_db
def test_a_corrupt_video_fails_quietly_and_leaves_nothing_behind(alice, settings, caplog):
    media = upload(alice, samples.corrupt_mp4(), kind="video")

    with caplog.at_level(logging.WARNING, logger="media_handler.services"):
        media = processed(alice, media)

    assert media["processing"] == "failed"
    assert (media["thumbnail"], media["preview"], media["placeholder"]) == (None, None, None)
    # The reason is for the operators' log, never in the owner's answer.
    assert "moov atom not found" in caplog.text
    assert "moov" not in str(media)
    assert stored_names(settings.MEDIA_ROOT) == {media["storage_path"]}
    assert not list((settings.MEDIA_ROOT / ".incoming").iterdir())


@pytest.mark.django_db
def test_a_decompression_bomb_is_refused_without_being_decoded(alice, settings):
    content = samples.png_bomb()  # 10,000 x 10,000 pixels: 100 MB once decoded
    # A record from before the upload check, with the bomb stored as it was.
    media = MediaFactory(user=ALICE, type="image", mime_type="image/png", checksum_sha256="ab" * 32)
    media.storage_path = f"uploads/2020/01/01/{uuid.uuid4().hex}.png"
    media.processing = Processing.PENDING
    media.save()
    put_stored(media.storage_path, content)
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    # As in the worker, where Pillow's own bomb warning (under twice its limit) only warns; the
    # test settings would turn it into an error.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        state = make_derivatives.run(media_id=str(media.pk))

    assert state == Processing.FAILED

    peak_growth_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before) / 1024
    assert peak_growth_mib < 50, f"the bomb was decoded: the peak grew {peak_growth_mib:.0f} MiB"
    media.refresh_from_db()
    assert media.processing == Processing.FAILED
    assert "too many pixels" in media.processing_error
    assert (media.thumbnail_path, media.preview_path) == ("", "")


@pytest.mark.django_db
def test_running_the_job_twice_is_harmless(alice, settings):
    media = processed(alice, upload(alice, samples.picture_bytes("PNG"), kind="image"))
    files_before = stored_files(settings.MEDIA_ROOT)

    assert make_derivatives.run(media_id=media["id"]) == Processing.READY

    assert stored_files(settings.MEDIA_ROOT) == files_before
    assert alice.get(f"/api/media/{media['id']}/").json()["thumbnail"] == media["thumbnail"]


@pytest.mark.django_db
def test_a_forced_run_replaces_the_derivatives_and_deletes_the_old_ones(
    alice, settings, django_capture_on_commit_callbacks
):
    media = processed(alice, upload(alice, samples.picture_bytes("PNG"), kind="image"))
    before = Media.objects.get(pk=media["id"])

    with django_capture_on_commit_callbacks(execute=True):
        make_derivatives.run(media_id=media["id"], force=True)

    after = Media.objects.get(pk=media["id"])
    assert after.thumbnail_path != before.thumbnail_path
    assert stored_names(settings.MEDIA_ROOT) == {
        after.storage_path,
        after.thumbnail_path,
        after.preview_path,
    }


@pytest.mark.django_db
def test_a_file_whose_runs_never_finish_is_given_up(alice):
    media = upload(alice, samples.picture_bytes("PNG"), kind="image")
    # Three runs started and were killed (out of memory, past the hard time limit).
    Media.objects.filter(pk=media["id"]).update(processing_attempts=3)

    assert make_derivatives.run(media_id=media["id"]) == Processing.FAILED

    assert Media.objects.get(pk=media["id"]).processing_error.startswith("given up")


@pytest.mark.django_db
def test_a_storage_fault_is_tried_again_and_fails_the_media_on_the_last_try(alice, monkeypatch):
    media = upload(alice, samples.picture_bytes("PNG"), kind="image")

    tries = []

    def disk_full(name, content):
        tries.append(name)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(services, "store_bytes", disk_full)

    # Run eagerly, each retry runs at once (the worker waits a growing delay between them).
    result = make_derivatives.apply(kwargs={"media_id": media["id"]})

    assert len(tries) == 1 + make_derivatives.max_retries
    assert result.get() == "failed"
    assert Media.objects.get(pk=media["id"]).processing == "failed"


def test_a_run_past_the_hard_time_limit_goes_back_to_the_queue():
    # Celery acknowledges a job killed at its hard limit unless told not to: the message was
    # gone and the media `pending` for good. Requeued, its next run counts one more attempt
    # (test_a_file_whose_runs_never_finish_is_given_up).
    assert make_derivatives.acks_late is True
    assert make_derivatives.acks_on_timeout is False


@pytest.mark.django_db
def test_a_tool_past_its_time_limit_fails_the_media(alice, settings):
    settings.DERIVATIVES_TOOL_TIMEOUT_SECONDS = 0
    media = upload(alice, samples.video_with_black_start(), kind="video")

    media = processed(alice, media)

    assert media["processing"] == "failed"


@pytest.mark.django_db
def test_a_media_gone_or_without_file_is_nothing_to_do(db):
    without_file = MediaFactory(user=ALICE)

    assert make_derivatives.run(media_id=str(uuid.uuid4())) is None
    assert make_derivatives.run(media_id=str(without_file.pk)) is None
    without_file.refresh_from_db()
    assert without_file.processing == Processing.READY


@pytest.mark.django_db
def test_a_media_purged_as_its_job_starts_is_nothing_to_do(alice, settings):
    media = upload(alice, samples.picture_bytes("PNG"), kind="image")
    files_before = stored_files(settings.MEDIA_ROOT)

    def purged_once_counted(execute, sql, params, many, context):
        # The owner's purge commits just after the job counted its attempt.
        result = execute(sql, params, many, context)
        if sql.startswith("UPDATE") and "processing_attempts" in sql:
            Media.objects.filter(pk=media["id"]).delete()
        return result

    with connection.execute_wrapper(purged_once_counted):
        assert make_derivatives.run(media_id=media["id"]) is None

    assert stored_files(settings.MEDIA_ROOT) == files_before  # no derivative made


def test_the_job_is_published_by_the_name_the_services_use():
    assert make_derivatives.name == "media.make_derivatives"


# Made by the reference encoder (the `thumbhash` npm package the web app decodes with) from the
# pictures `reference_rgba` draws.
REFERENCE_THUMBHASHES = {
    (64, 48, False): "4AcKPZpwdndxeHd3V2dnh4GACPh3",
    (30, 100, False): "4AcKOhpwcId4d3hngJAH+Hc=",
    (100, 75, True): "IPiFHIwHgIeAiIiICAiIgI8HIgJUFVVRAg==",
}


def reference_rgba(width: int, height: int, alpha: bool) -> bytes:
    return bytes(
        channel
        for y in range(height)
        for x in range(width)
        for channel in (
            x * 255 // (width - 1),
            y * 255 // (height - 1),
            (x + y) * 7 % 256,
            (x * y) % 256 if alpha else 255,
        )
    )


@pytest.mark.parametrize(("width", "height", "alpha"), sorted(REFERENCE_THUMBHASHES))
def test_the_placeholder_paints_as_the_reference_thumbhash_does(width, height, alpha):
    image = Image.frombytes("RGBA", (width, height), reference_rgba(width, height, alpha))
    ours = base64.b64decode(thumbhash_placeholder(image))
    reference = base64.b64decode(REFERENCE_THUMBHASHES[(width, height, alpha)])

    # The reference computes in doubles, the Rust port it binds in floats: a coefficient on a
    # rounding edge may come out one step apart, never more, and never in the header (average
    # colour, scales, aspect ratio, transparency).
    assert len(ours) == len(reference)
    assert ours[:5] == reference[:5]
    steps = [abs(a - b) for a, b in zip(nibbles(ours), nibbles(reference), strict=True)]
    assert max(steps) <= 1
    assert sum(steps) <= 2
    # And decoded, both paint the same picture.
    _, _, our_pixels = thumbhash.thumb_hash_to_rgba(ours)
    _, _, ref_pixels = thumbhash.thumb_hash_to_rgba(reference)
    differences = [abs(a - b) for a, b in zip(our_pixels, ref_pixels, strict=True)]
    assert sum(differences) / len(differences) < 2


def nibbles(data: bytes) -> list[int]:
    return [half for byte in data for half in (byte & 15, byte >> 4)]
