"""tuspy (the Python tus client) as a phone app's upload would run it: one process per attempt.

    python tus_py_upload.py --file PATH --token TOKEN --chunk-size N
        (--endpoint URL [--metadata JSON] | --upload-url URL) [--stop-after-chunks K]

With --endpoint it creates the upload; with --upload-url (all a new process knows) tuspy asks the
server for its offset (HEAD) and resumes from there. Every chunk carries its SHA-1
(Upload-Checksum). --stop-after-chunks K quits once K chunks are sent, as an app killed
part-way. Prints one JSON line: {"url", "offset", "done", "mediaId"}.
"""

import argparse
import json
import sys

from tusclient import client


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--file", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--chunk-size", type=int, required=True)
    parser.add_argument("--endpoint")
    parser.add_argument("--upload-url")
    parser.add_argument("--metadata", default="{}")
    parser.add_argument("--stop-after-chunks", type=int)
    args = parser.parse_args()

    tus = client.TusClient(
        args.endpoint or args.upload_url, headers={"Authorization": f"Bearer {args.token}"}
    )
    uploader = tus.uploader(
        args.file,
        url=args.upload_url,
        chunk_size=args.chunk_size,
        metadata=json.loads(args.metadata),
        upload_checksum=True,
        retries=2,
        retry_delay=0.5,
    )
    if uploader.url is None:
        uploader.set_url(uploader.create_url())
    chunks = 0
    media_id = None
    while uploader.offset < uploader.get_file_size():
        if args.stop_after_chunks is not None and chunks >= args.stop_after_chunks:
            break
        uploader.upload_chunk()
        chunks += 1
        media_id = uploader.request.response_headers.get("media-id") or media_id
    done = uploader.offset == uploader.get_file_size()
    result = {"url": uploader.url, "offset": uploader.offset, "done": done, "mediaId": media_id}
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
