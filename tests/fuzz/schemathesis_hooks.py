"""What schemathesis is told on top of its own (test_schemathesis.py loads this file through
SCHEMATHESIS_HOOKS): how to send a tus chunk, `application/offset+octet-stream`, a media type it
has no serializer for. The bytes go as they are, as application/octet-stream's do."""

import schemathesis


@schemathesis.serializer("application/offset+octet-stream")
def tus_chunk(ctx, value) -> dict:
    return {"data": value if isinstance(value, bytes) else str(value).encode()}
