"""Video and audio through ffprobe and ffmpeg (Debian's `ffmpeg` package), each run as a
subprocess with limits: wall-clock and CPU time, address space and output size, reading only
the one local file (no network, no other file: the demuxer is the one the sniffed type names
and the only protocol is `file`), so a hostile file costs at most those limits.
"""

import json
import math
import resource
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from django.conf import settings
from PIL import Image, ImageStat

from media_handler.files.errors import DerivativeError
from media_handler.files.imaging import PREVIEW_MAX_SIDE

# The ffmpeg demuxer of each sniffed type (media_handler.files.inspection.EXTENSIONS): forced,
# so a file cannot make ffmpeg pick another one (a playlist's, a concatenation's).
DEMUXERS = {
    "video/mp4": "mov",
    "video/quicktime": "mov",
    "video/3gpp": "mov",
    "video/3gpp2": "mov",
    "video/x-m4v": "mov",
    "audio/mp4": "mov",
    "audio/x-m4a": "mov",
    "video/webm": "matroska",
    "video/x-matroska": "matroska",
    "audio/webm": "matroska",
    "video/x-msvideo": "avi",
    "video/mpeg": "mpeg",
    "video/ogg": "ogg",
    "video/x-flv": "flv",
    "video/x-ms-asf": "asf",
    "audio/mpeg": "mp3",
    "audio/flac": "flac",
    "audio/x-flac": "flac",
    "audio/ogg": "ogg",
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/x-aiff": "aiff",
    "audio/aac": "aac",
    "audio/x-hx-aac-adts": "aac",
}
# A frame is picked among this many, from about a tenth into the video (past a black start).
POSTER_CANDIDATE_FRAMES = 40
POSTER_START_FRACTION = 0.1
# Past this mean brightness (0-255) a poster is not "black"; a darker one is looked for again
# from the middle of the video.
DARK_POSTER_LEVEL = 16
FRAME_MAX_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Probe:
    """What ffprobe reads of a file."""

    duration: float | None
    codec: str
    # The video's displayed size (its rotation applied); None for audio.
    width: int | None
    height: int | None
    has_video: bool
    # The stream index of embedded cover art (an attached picture), if any.
    cover_stream: int | None


def ffmpeg_installed() -> bool:
    return shutil.which("ffmpeg") is not None and shutil.which("ffprobe") is not None


def probe(
    path: str, *, mime_type: str, timeout: int | None = None, threaded: bool = False
) -> Probe:
    """ffprobe's reading of the file, within `timeout` seconds (the job's tools' limit by
    default); `threaded` when the caller's process runs threads (a request's). Raises
    DerivativeError when ffprobe cannot read it."""
    output = _run(
        [
            "ffprobe",
            "-v",
            "error",
            *_input_options(mime_type),
            "-i",
            f"file:{path}",
            "-show_format",
            "-show_streams",
            "-of",
            "json",
        ],
        what="ffprobe",
        timeout=timeout,
        threaded=threaded,
    )
    try:
        facts = json.loads(output)
    except json.JSONDecodeError as exc:
        raise DerivativeError(f"ffprobe's answer is not JSON: {exc}") from exc
    streams = facts.get("streams") or []
    if not streams:
        raise DerivativeError("ffprobe found no stream")
    video = [s for s in streams if s.get("codec_type") == "video"]
    pictures = [s for s in video if (s.get("disposition") or {}).get("attached_pic")]
    moving = [s for s in video if s not in pictures]
    audio = [s for s in streams if s.get("codec_type") == "audio"]
    main = moving[0] if moving else (audio[0] if audio else streams[0])
    width, height = _displayed_size(moving[0]) if moving else (None, None)
    return Probe(
        duration=_positive_float((facts.get("format") or {}).get("duration"))
        or _positive_float(main.get("duration")),
        codec=str(main.get("codec_name") or "")[:64],
        width=width,
        height=height,
        has_video=bool(moving),
        cover_stream=int(pictures[0]["index"]) if pictures else None,
    )


def poster_frame(path: str, *, mime_type: str, duration: float | None, output: Path) -> None:
    """Write a representative frame of the video, at most PREVIEW_MAX_SIDE on its longest side
    and upright, as a PNG to `output`: the most typical of the frames from about a tenth in
    (ffmpeg's `thumbnail` filter), or from the middle when that one is black. Raises
    DerivativeError when no frame can be decoded."""
    starts = [duration * POSTER_START_FRACTION] if duration else [0.0]
    if duration:
        starts.append(duration / 2)
    for start in starts:
        _write_frame(path, mime_type=mime_type, start=start, output=output)
        if not output.exists() and start > 0:
            # A damaged index can make a seek land nowhere: from the start, then.
            _write_frame(path, mime_type=mime_type, start=0.0, output=output)
        if not output.exists():
            raise DerivativeError("ffmpeg decoded no frame")
        if not _is_dark(output):
            return
    # Dark all along: the first frame found stands for it.


def cover_art(path: str, *, mime_type: str, stream: int, output: Path) -> None:
    """Write the embedded picture of an audio file as a PNG to `output`, scaled down like a
    poster. Raises DerivativeError when it cannot be decoded."""
    _run(
        [
            "ffmpeg",
            *_common_options(),
            *_input_options(mime_type),
            "-i",
            f"file:{path}",
            "-map",
            f"0:{stream}",
            "-vf",
            _scale_filter(),
            "-frames:v",
            "1",
            *_png_output(output),
        ],
        what="ffmpeg (cover art)",
    )
    if not output.exists():
        raise DerivativeError("ffmpeg decoded no cover art")


def _write_frame(path: str, *, mime_type: str, start: float, output: Path) -> None:
    output.unlink(missing_ok=True)
    _run(
        [
            "ffmpeg",
            *_common_options(),
            *_input_options(mime_type),
            "-ss",
            f"{start:.3f}",
            "-i",
            f"file:{path}",
            "-map",
            "0:V:0",
            # Scaled first: the `thumbnail` filter keeps all its candidates in memory.
            "-vf",
            f"{_scale_filter()},thumbnail=n={POSTER_CANDIDATE_FRAMES}",
            "-frames:v",
            "1",
            *_png_output(output),
        ],
        what="ffmpeg (poster)",
    )


def _common_options() -> list[str]:
    return ["-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-threads", "1"]


def _input_options(mime_type: str) -> list[str]:
    demuxer = DEMUXERS.get(mime_type)
    if demuxer is None:
        raise DerivativeError(f"no ffmpeg demuxer is allowed for {mime_type}")
    return [
        "-protocol_whitelist",
        "file",
        "-f",
        demuxer,
        # The decoders refuse frames larger than a picture may be.
        "-max_pixels",
        str(settings.DERIVATIVES_MAX_PIXELS),
    ]


def _scale_filter() -> str:
    side = PREVIEW_MAX_SIDE
    # Never enlarged; the pixel aspect ratio made square first.
    return (
        "scale=trunc(iw*sar/2)*2:ih,setsar=1,"
        f"scale='min({side},iw)':'min({side},ih)':force_original_aspect_ratio=decrease"
    )


def _png_output(output: Path) -> list[str]:
    return ["-an", "-sn", "-dn", "-f", "image2", "-c:v", "png", "-update", "1", f"file:{output}"]


def _displayed_size(stream: dict) -> tuple[int | None, int | None]:
    width, height = stream.get("width"), stream.get("height")
    if not width or not height:
        return None, None
    # Pixels that are not square (anamorphic video: a PAL 16:9 frame is 720x576 at 64:45) are
    # shown wider, as the poster is made (_scale_filter): even, as the filter rounds it.
    aspect = _ratio(stream.get("sample_aspect_ratio"))
    if aspect is not None:
        width = int(width * aspect / 2) * 2 or width
    rotation = 0
    for side_data in stream.get("side_data_list") or []:
        if "rotation" in side_data:
            rotation = _degrees(side_data["rotation"])
    rotation = rotation or _degrees((stream.get("tags") or {}).get("rotate"))
    if rotation % 180:
        return int(height), int(width)
    return int(width), int(height)


def _ratio(value) -> Fraction | None:
    """ffprobe's "64:45" as an exact number; None for "1:1", "0:1" (unknown) or anything else."""
    numerator, _, denominator = str(value or "").partition(":")
    try:
        ratio = Fraction(int(numerator), int(denominator))
    except (ValueError, ZeroDivisionError):
        return None
    return ratio if ratio > 0 and ratio != 1 else None


def _degrees(value) -> int:
    """A rotation in whole degrees, 0 for none or for one that is not a number: a file's own
    tag (a Matroska `rotate` of "abc" or "inf") must not stop its processing."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0
    return int(number) if math.isfinite(number) else 0


def _positive_float(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return round(number, 3) if number > 0 else None


def _is_dark(png: Path) -> bool:
    with Image.open(png) as frame:
        return ImageStat.Stat(frame.convert("L")).mean[0] < DARK_POSTER_LEVEL


def _at_most_hard_limit(kind: int, wanted: int) -> int:
    hard = resource.getrlimit(kind)[1]
    return wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)


def _run(
    command: list[str], *, what: str, timeout: int | None = None, threaded: bool = False
) -> str:
    """Run one of ffmpeg's programs under the limits; its standard output. Raises
    DerivativeError when it fails, times out or is killed by a limit. From a process that
    runs threads (`threaded`: a gunicorn worker's request), the limits are set by prlimit(1)
    rather than by Python code between fork and exec, which is not safe there (a lock another
    thread held at the fork stays held in the child)."""
    timeout = timeout or settings.DERIVATIVES_TOOL_TIMEOUT_SECONDS
    # Never above the worker's own hard limit (JOB_WORKER_MEMORY_LIMIT_MB), which the tool
    # inherits and may not raise: asked for more, every run failed to start.
    memory = _at_most_hard_limit(
        resource.RLIMIT_AS, settings.DERIVATIVES_TOOL_MEMORY_MB * 1024 * 1024
    )

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_CPU, (timeout, timeout + 1))
        resource.setrlimit(resource.RLIMIT_FSIZE, (FRAME_MAX_BYTES, FRAME_MAX_BYTES))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    preexec: Callable[[], None] | None = limit
    if threaded:
        preexec = None
        prlimit = shutil.which("prlimit")  # util-linux, in every Debian
        if prlimit is None:
            raise DerivativeError("prlimit is not installed")
        command = [
            prlimit,
            f"--as={memory}",
            f"--cpu={timeout}:{timeout + 1}",
            f"--fsize={FRAME_MAX_BYTES}",
            "--core=0",
            "--",
            *command,
        ]
    try:
        # A fixed program and arguments of our own making; no shell, no client input but the
        # path the storage chose.
        result = subprocess.run(  # noqa: S603
            command,
            capture_output=True,
            timeout=timeout,
            preexec_fn=preexec,
            check=False,
        )
    except FileNotFoundError as exc:
        raise DerivativeError(f"{what} is not installed") from exc
    except subprocess.TimeoutExpired as exc:
        raise DerivativeError(f"{what} took more than {timeout} s") from exc
    except (OSError, subprocess.SubprocessError) as exc:
        # Not started: no process to be had (EAGAIN), or its limits refused (a hard limit
        # under ours). The file's facts are then unknown, as for a file the tool cannot read.
        raise DerivativeError(f"{what} could not be run: {exc!r}") from exc
    if result.returncode != 0:
        message = result.stderr.decode(errors="replace").strip()[-300:]
        raise DerivativeError(f"{what} failed ({result.returncode}): {message}")
    return result.stdout.decode(errors="replace")
