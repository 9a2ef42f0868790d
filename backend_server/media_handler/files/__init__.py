"""Everything that touches the bytes of a media file, one module per job:

- `upload_handlers`: Django's streaming of an upload to a temporary file (size limit, SHA-256);
- `inspection`: what the bytes are (sniffed type, the content policy, width/height/duration);
- `storage`: where the bytes are kept (Django's Storage API; the local filesystem today);
- `signing`: the signed, expiring URLs that serve them without a token;
- `derivatives`: thumbnail, preview and placeholder of a stored file (the job worker's), made by
  `imaging` (Pillow, pillow-heif, ThumbHash) and `ffmpeg` (posters, cover art, video facts).

Sending the bytes over HTTP (Range, X-Accel-Redirect) is the views' job: media_handler.responses.
"""
