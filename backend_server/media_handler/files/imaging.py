"""Pictures made from a picture (Pillow): the `thumbnail` (WebP) and `preview` (JPEG, or WebP
when the picture has transparency) of a media, and its ThumbHash `placeholder`.

Everything made here is upright (EXIF orientation applied), in sRGB, and carries no metadata at
all: no EXIF (so no GPS position), no XMP, no ICC profile. Only the size is read before the
pixel-count check, so a decompression bomb is refused before a pixel of it is decoded.
"""

import base64
import io
import warnings
from dataclasses import dataclass

import pillow_heif
import thumbhash
from PIL import Image, ImageCms

from media_handler.files.errors import DerivativeError

# HEIC/HEIF (iPhone photos) open like any other picture; AVIF is Pillow's own.
pillow_heif.register_heif_opener()

# The formats Pillow may open from an upload (SPEC's pictures, and BMP and TIFF): none of the
# others it knows. Its EPS plugin hands the file to Ghostscript, which runs PostScript; PSD,
# ICO, TGA, FITS and the like are no photos anyone keeps here.
PICTURE_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF", "HEIF", "AVIF")

THUMBNAIL_MAX_SIDE = 320
PREVIEW_MAX_SIDE = 1440
# ThumbHash encodes at most 100 x 100 pixels.
PLACEHOLDER_MAX_SIDE = 100
THUMBNAIL_WEBP_QUALITY = 80
PREVIEW_JPEG_QUALITY = 85
PREVIEW_WEBP_QUALITY = 85
# libwebp's effort (0 fastest .. 6 smallest): past 4 it costs far more than it saves here.
WEBP_METHOD = 4
# Each downscale first shrinks by whole factors (Image.reduce, fast), then resamples from at
# least this many times the target size (the quality of a direct resampling).
REDUCING_GAP = 2.0
# The preview is resampled from at most twice its size (after DCT scaling): Hamming's short
# filter is sharp enough there and several times cheaper than Lanczos (docs/performance.md);
# the thumbnail, a far larger reduction, gets Lanczos.
PREVIEW_RESAMPLING = Image.Resampling.HAMMING
THUMBNAIL_RESAMPLING = Image.Resampling.LANCZOS

# What EXIF orientation tag values ask for (ImageOps.exif_transpose's table).
ORIENTATION_TRANSPOSES = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
EXIF_ORIENTATION = 0x0112

_SRGB = ImageCms.createProfile("sRGB")
# Modes Image.resize works in directly; others are made RGB(A) first.
RESIZABLE_MODES = ("RGB", "RGBA", "L", "LA", "CMYK")


@dataclass(frozen=True)
class Pictures:
    """The derivatives of one picture, encoded, and its displayed (upright) size."""

    thumbnail: bytes
    preview: bytes
    preview_extension: str  # "jpg" or "webp"
    placeholder: str
    width: int
    height: int


def open_picture(path: str, *, max_pixels: int) -> Image.Image:
    """The picture at `path`, opened but not decoded. Raises DerivativeError when it is not a
    picture of PICTURE_FORMATS, or has more than `max_pixels` pixels (a decompression bomb)."""
    try:
        with warnings.catch_warnings():
            # Past MAX_IMAGE_PIXELS Pillow only warns: refused here all the same.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(path, formats=PICTURE_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise DerivativeError(f"too many pixels: {exc}") from exc
    except Exception as exc:  # Pillow raises many types for files it cannot read
        raise DerivativeError(f"not a readable picture: {exc!r}") from exc
    width, height = image.size
    if width < 1 or height < 1 or width * height > max_pixels:
        image.close()
        raise DerivativeError(f"too many pixels: {width}x{height}")
    return image


def make_pictures(image: Image.Image) -> Pictures:
    """Decode `image` (from open_picture) once, at the smallest scale the preview allows, and
    make every derivative from that. Raises DerivativeError when the pixels cannot be decoded."""
    icc_profile = image.info.get("icc_profile")
    # The picture's own size: draft() below makes `image.size` the decoded, scaled one.
    stored_size = image.size
    try:
        # JPEG only: the decoder scales by 1/2, 1/4 or 1/8 while decoding (DCT scaling),
        # to the smallest scale still at least the preview's size.
        image.draft("RGB", (PREVIEW_MAX_SIDE, PREVIEW_MAX_SIDE))
        image.load()
        # After the decode: a PNG's EXIF may follow its pixels (Pillow reads it only then).
        orientation = _orientation(image)
        preview = _shrunk(image, PREVIEW_MAX_SIDE, PREVIEW_RESAMPLING)
        if preview is image:  # small already: kept once the source is closed
            preview = image.copy()
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError) as exc:
        raise DerivativeError(f"the picture's pixels cannot be decoded: {exc!r}") from exc
    finally:
        image.close()
    preview = _displayable(_in_srgb(preview, icc_profile))
    if orientation in ORIENTATION_TRANSPOSES:
        preview = preview.transpose(ORIENTATION_TRANSPOSES[orientation])
    thumbnail = _shrunk(preview, THUMBNAIL_MAX_SIDE, THUMBNAIL_RESAMPLING)
    has_alpha = preview.mode == "RGBA"
    width, height = _upright_size(stored_size, orientation)
    return Pictures(
        thumbnail=_encode(thumbnail, "WEBP", quality=THUMBNAIL_WEBP_QUALITY, method=WEBP_METHOD),
        preview=(
            _encode(preview, "WEBP", quality=PREVIEW_WEBP_QUALITY, method=WEBP_METHOD)
            if has_alpha
            else _encode(preview, "JPEG", quality=PREVIEW_JPEG_QUALITY)
        ),
        preview_extension="webp" if has_alpha else "jpg",
        placeholder=thumbhash_placeholder(thumbnail),
        width=width,
        height=height,
    )


def thumbhash_placeholder(image: Image.Image) -> str:
    """The ThumbHash of `image`, base64 encoded (the web app decodes it with the reference
    JavaScript implementation)."""
    small = image.convert("RGBA")
    small.thumbnail((PLACEHOLDER_MAX_SIDE, PLACEHOLDER_MAX_SIDE), Image.Resampling.BILINEAR)
    hashed = thumbhash.rgba_to_thumb_hash(small.width, small.height, small.tobytes())
    return base64.b64encode(hashed).decode("ascii")


def displayed_size(image: Image.Image) -> tuple[int, int]:
    """The size of an opened picture as it is shown: its EXIF orientation applied, as far as
    it is known without decoding a pixel (the upload's request calls this: make_pictures,
    in the job, knows it whole)."""
    if image.format == "PNG" and "exif" not in image.info:
        # Pillow decodes a PNG whole to look for an EXIF chunk after its pixels: a small file
        # of 4000 x 4000 pixels cost the request 64 MB. Rare in PNGs; the job reads it.
        return image.size
    return _upright_size(image.size, _orientation(image))


def _orientation(image: Image.Image) -> int:
    try:
        return int(image.getexif().get(EXIF_ORIENTATION, 1))
    except Exception:  # a damaged EXIF block: the picture is shown as stored
        return 1


def _upright_size(size: tuple[int, int], orientation: int) -> tuple[int, int]:
    width, height = size
    # 5 to 8 turn the picture a quarter.
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def _shrunk(image: Image.Image, max_side: int, resample: Image.Resampling) -> Image.Image:
    if image.mode not in RESIZABLE_MODES:
        image = _displayable(image)
    if max(image.size) <= max_side:
        return image
    scale = max_side / max(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, resample, reducing_gap=REDUCING_GAP)


def _displayable(image: Image.Image) -> Image.Image:
    """RGB, or RGBA for a picture with transparency: what WebP and JPEG encode."""
    if image.mode == "RGBA" or (image.mode == "RGB" and "transparency" not in image.info):
        return image
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        # 16-bit and float greyscale: scaled to 8 bits (a plain convert would clip to white).
        return image.convert("I").point(lambda value: value / 256).convert("L").convert("RGB")
    has_transparency = image.mode in ("RGBa", "LA", "La", "PA") or "transparency" in image.info
    return image.convert("RGBA" if has_transparency else "RGB")


def _in_srgb(image: Image.Image, icc_profile: bytes | None) -> Image.Image:
    """`image` converted from its embedded colour profile to sRGB (where it is not sRGB); a
    CMYK picture becomes RGB through its profile."""
    if not icc_profile or image.mode not in ("RGB", "RGBA", "CMYK"):
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        if ImageCms.getProfileDescription(source).strip().startswith("sRGB"):
            return image
        output_mode = "RGBA" if image.mode == "RGBA" else "RGB"
        return ImageCms.profileToProfile(image, source, _SRGB, outputMode=output_mode) or image
    except (ImageCms.PyCMSError, OSError, ValueError):
        # A broken profile, or one of another colour space: the pixels are shown as they are.
        return image


def _encode(image: Image.Image, image_format: str, **options) -> bytes:
    # A fresh info dict: nothing the source carried (EXIF, XMP, ICC) can reach the encoder.
    image.info = {}
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **options)
    return buffer.getvalue()
