"""Request parsers both services use."""

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser; a document nested too deeply for Python's json module (`[[[[...`,
    which raises RecursionError, not ValueError) is a 400 like any other malformed JSON."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("JSON parse error - nested too deeply.") from exc


class _CountedStream:
    """A request body that counts the bytes read from it."""

    def __init__(self, stream):
        self._stream = stream
        self.received = 0

    def read(self, *args):
        chunk = self._stream.read(*args)
        self.received += len(chunk)
        return chunk


class MultiPartParser(parsers.MultiPartParser):
    """DRF's multipart parser, refusing a body that ends before its Content-Length.

    Django's parser keeps the fields it received and drops a file cut off in the middle, so a
    client hanging up mid-upload (the gateway streams uploads as they arrive) would otherwise
    create a media without its file. Such a body is a 400 and leaves nothing behind.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        counted = _CountedStream(stream)
        parsed = super().parse(counted, media_type, parser_context)
        declared = parser_context["request"].META.get("CONTENT_LENGTH") or "0"
        if declared.isdigit() and counted.received < int(declared):
            for name in parsed.files:
                for upload in parsed.files.getlist(name):
                    upload.close()  # a temporary file is deleted when closed
            raise ParseError("The request body ended before its declared length.")
        return parsed
