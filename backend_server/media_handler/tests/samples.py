"""Real media files for the derivative tests, made on the spot: pictures by Pillow and
pillow-heif, video and audio by ffmpeg's lavfi sources (Debian's ffmpeg)."""

import io
import struct
import tempfile
import zlib
from pathlib import Path

import pillow_heif
from PIL import ExifTags, Image, ImageCms, ImageDraw

from devstack.samples import black_start_video_bytes, ffmpeg_bytes

pillow_heif.register_heif_opener()

# The quarter of a picture that holds its marker: a picture turned by its EXIF orientation
# shows the marker elsewhere.
MARKER = (255, 0, 0)
BACKGROUND = (0, 80, 255)
XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
    b'22-rdf-syntax-ns#"><rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/">'
    b"<dc:creator>Ada at home</dc:creator></rdf:Description></rdf:RDF></x:xmpmeta>"
)


def marked_picture(width: int, height: int) -> Image.Image:
    """A blue picture with a red block in its top-left quarter."""
    image = Image.new("RGB", (width, height), BACKGROUND)
    ImageDraw.Draw(image).rectangle((0, 0, width // 2 - 1, height // 2 - 1), fill=MARKER)
    return image


def exif_with_gps(*, orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "Phone"
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (52.0, 31.0, 12.0),
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: (13.0, 24.0, 36.0),
    }
    return exif


def jpeg_with_exif(width: int = 2400, height: int = 1600, *, orientation: int = 6) -> bytes:
    """A camera-like JPEG: EXIF orientation and a GPS position, XMP and an ICC profile."""
    buffer = io.BytesIO()
    marked_picture(width, height).save(
        buffer,
        format="JPEG",
        quality=90,
        exif=exif_with_gps(orientation=orientation),
        xmp=XMP,
        icc_profile=ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes(),
    )
    return buffer.getvalue()


def picture_bytes(image_format: str, image: Image.Image | None = None, **options) -> bytes:
    buffer = io.BytesIO()
    (image or marked_picture(640, 480)).save(buffer, format=image_format, **options)
    return buffer.getvalue()


def heic_bytes(width: int = 1200, height: int = 900) -> bytes:
    """An iPhone-like HEIC with an EXIF block (GPS included)."""
    return picture_bytes(
        "HEIF", marked_picture(width, height), quality=70, exif=exif_with_gps(orientation=1)
    )


def dos_eps_bytes() -> bytes:
    """An Encapsulated PostScript picture in its DOS binary form (Pillow's EPS behind the
    30-byte header: magic, then where the PostScript starts and how long it is), which
    libmagic calls image/x-eps and Pillow opens, decoding it with Ghostscript."""
    postscript = picture_bytes("EPS", marked_picture(64, 48))
    header_size = 30
    return (
        struct.pack(
            "<4sIIIIIIH", b"\xc5\xd0\xd3\xc6", header_size, len(postscript), 0, 0, 0, 0, 0xFFFF
        )
        + postscript
    )


def mp3_that_is_a_playlist(target: str, *, seconds: float) -> bytes:
    """An attack on an ffprobe left to guess the format: libmagic reads an MP3 (an ID3v2 tag,
    then an MPEG audio frame header) and mutagen finds no audio; ffprobe skips the tag with its
    footer and reads an HLS playlist whose one segment is the local file `target`, said to
    last `seconds`."""
    tag = b"ID3" + bytes([4, 0, 0x10]) + bytes(4)  # version 2.4, a footer, an empty body
    frame = bytes([0xFF, 0xFB, 0x90, 0x64]) + bytes(6)  # where ffprobe sees the footer
    playlist = (
        f"#EXTM3U\n#EXT-X-TARGETDURATION:{int(seconds) + 1}\n#EXTINF:{seconds},\n"
        f"file:{target}\n#EXT-X-ENDLIST\n"
    )
    return tag + frame + playlist.encode()


def transparent_png() -> bytes:
    image = Image.new("RGBA", (400, 300), (0, 0, 0, 0))
    ImageDraw.Draw(image).ellipse((50, 50, 350, 250), fill=(0, 200, 0, 255))
    return picture_bytes("PNG", image)


def animated_gif() -> bytes:
    """Two frames: a red first frame, a blue second one."""
    first = Image.new("RGB", (120, 80), MARKER)
    second = Image.new("RGB", (120, 80), BACKGROUND)
    return picture_bytes("GIF", first, save_all=True, append_images=[second], duration=100)


def png_bomb(side: int = 10_000) -> bytes:
    """A greyscale PNG of side x side pixels (past Pillow's limit), all black: a few hundred
    kilobytes that would take side * side bytes of memory to decode."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    compressor = zlib.compressobj(9)
    row = bytes(side + 1)  # filter byte 0, then black pixels
    data = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )


# One ffmpeg runner and one black-start video for every suite (devstack.samples).
ffmpeg_output = ffmpeg_bytes
video_with_black_start = black_start_video_bytes


# H.264 that every player reads, encoded fast.
H264 = ("-c:v", "libx264", "-pix_fmt", "yuv420p", "-preset", "ultrafast")


def rotated_mov() -> bytes:
    """A 320x240 H.264 QuickTime file whose display matrix turns it a quarter (a phone held
    upright). ffmpeg writes the matrix when it copies a stream, not when it encodes one."""
    with tempfile.TemporaryDirectory() as directory:
        plain = Path(directory) / "plain.mov"
        plain.write_bytes(
            ffmpeg_output(
                ".mov",
                "-f",
                "lavfi",
                "-i",
                "testsrc2=s=320x240:r=25:d=1",
                *H264,
            )
        )
        return ffmpeg_output(".mov", "-i", str(plain), "-c", "copy", "-metadata:s:v:0", "rotate=90")


def mkv_with_rotate_tag(value: str) -> bytes:
    """A Matroska video whose stream carries a `rotate` tag of `value` (anything, as a file
    may say). ffmpeg takes a `rotate` it is given for a display matrix, and writes another
    tag's name in capitals: it is given `rotatE`, and the name is set in lowercase afterwards,
    as other muxers write it."""
    content = ffmpeg_output(
        ".mkv",
        "-f",
        "lavfi",
        "-i",
        "testsrc=s=64x48:r=10:d=1",
        "-c:v",
        "ffv1",
        "-metadata:s:v:0",
        f"rotatE={value}",
    )
    assert content.count(b"ROTATE") == 1, "the tag's name appears once"
    return content.replace(b"ROTATE", b"rotate")


def audio_with_cover(suffix: str, *codec: str) -> bytes:
    """2 s of a tone with an embedded cover picture (a marked 300x300 PNG)."""
    with tempfile.TemporaryDirectory() as directory:
        cover = Path(directory) / "cover.png"
        marked_picture(300, 300).save(cover)
        return ffmpeg_output(
            suffix,
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=2",
            "-i",
            str(cover),
            "-map",
            "0:a",
            "-map",
            "1:v",
            *codec,
            "-c:v",
            "mjpeg" if suffix != ".flac" else "png",
            "-disposition:v",
            "attached_pic",
        )


def audio_without_cover(suffix: str, *codec: str) -> bytes:
    return ffmpeg_output(suffix, "-f", "lavfi", "-i", "sine=frequency=440:duration=2", *codec)


def corrupt_mp4() -> bytes:
    """An MP4 whose header is intact (it is sniffed as video/mp4) and whose frames are noise."""
    video = bytearray(video_with_black_start())
    start = video.index(b"mdat") + 4
    for offset in range(start, len(video)):
        video[offset] = (offset * 131 + 7) % 256
    return bytes(video)


def damaged_avif() -> bytes:
    """An AVIF whose header is intact (it is sniffed, and its size read, as image/avif) and
    whose coded picture is zeros: the decoder gives up on its colour planes."""
    content = bytearray(picture_bytes("AVIF", marked_picture(640, 480), quality=80))
    start = content.index(b"mdat") + 4 + 20
    content[start:] = bytes(len(content) - start)
    return bytes(content)


def anamorphic_mp4() -> bytes:
    """1 s of PAL 16:9 video: 720x576 stored, pixels 64:45 wide, so shown at 1024x576."""
    return ffmpeg_output(
        ".mp4",
        "-f",
        "lavfi",
        "-i",
        "testsrc2=s=720x576:r=25:d=1",
        "-vf",
        "setsar=64/45",
        *H264,
    )


def png_with_colour_key() -> bytes:
    """An RGB PNG whose black is transparent (a tRNS colour key): black corners on blue."""
    image = Image.new("RGB", (200, 200), BACKGROUND)
    ImageDraw.Draw(image).rectangle((0, 0, 49, 49), fill=(0, 0, 0))
    return picture_bytes("PNG", image, transparency=(0, 0, 0))
