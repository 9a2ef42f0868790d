"""An S3-compatible object store for a stack: moto's server (`moto_server`, a real HTTP server
speaking the S3 API) on a free loopback port, in a process group of its own, with the stack's
bucket created. `ObjectStore.env()` is what a StackSpec needs to run on it (MEDIA_STORAGE=s3 and
the S3_* settings).

    with devstack.object_store.running(workdir) as store:
        spec = StackSpec(env={**store.env(), ...})
"""

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import requests

from devstack import processes
from devstack.environment import REPO
from devstack.polling import wait_until
from devstack.ports import LOOPBACK, free_ports

MOTO_SERVER = REPO / ".venv" / "bin" / "moto_server"
DEFAULT_BUCKET = "media-handler"
# moto accepts any credentials; these only have to be the same on both sides.
ACCESS_KEY_ID = "devstack"
SECRET_ACCESS_KEY = "devstack-secret"  # noqa: S105 -- moto's, not a secret
REGION = "us-east-1"
START_TIMEOUT = 30


class ObjectStoreError(RuntimeError):
    """moto's server did not start."""


@dataclass
class ObjectStore:
    process: subprocess.Popen
    port: int
    bucket: str
    log_path: Path

    @property
    def endpoint(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def env(self, *, prefix: str = "") -> dict[str, str]:
        """The settings of a media service that keeps its files in this store's bucket."""
        return {
            "MEDIA_STORAGE": "s3",
            "S3_BUCKET": self.bucket,
            "S3_ENDPOINT_URL": self.endpoint,
            "S3_REGION": REGION,
            "S3_ACCESS_KEY_ID": ACCESS_KEY_ID,
            "S3_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
            "S3_PREFIX": prefix,
        }

    def client(self):
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY_ID,
            aws_secret_access_key=SECRET_ACCESS_KEY,
        )

    def keys(self, prefix: str = "") -> list[str]:
        """Every key in the bucket under `prefix`."""
        paginator = self.client().get_paginator("list_objects_v2")
        return [
            entry["Key"]
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix)
            for entry in page.get("Contents", [])
        ]

    def open_multipart_uploads(self, prefix: str = "") -> list[str]:
        listed = self.client().list_multipart_uploads(Bucket=self.bucket, Prefix=prefix)
        return [upload["Key"] for upload in listed.get("Uploads", [])]

    def close(self) -> None:
        if self.process.poll() is None:
            processes.signal_group(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                processes.signal_group(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def start(workdir: Path, *, bucket: str = DEFAULT_BUCKET) -> ObjectStore:
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_ports(1)[0]
    log_path = workdir / "object-store.log"
    process = processes.start_group(
        [str(MOTO_SERVER), "-H", LOOPBACK, "-p", str(port)],
        cwd=workdir,
        env=os.environ,
        log_path=log_path,
    )
    store = ObjectStore(process=process, port=port, bucket=bucket, log_path=log_path)

    def answers() -> bool:
        if process.poll() is not None:
            return True
        with contextlib.suppress(requests.RequestException):
            return requests.get(f"{store.endpoint}/moto-api/", timeout=2).ok
        return False

    if not wait_until(answers, START_TIMEOUT) or process.poll() is not None:
        store.close()
        raise ObjectStoreError(f"moto_server did not start:\n{log_path.read_text()[-2000:]}")
    store.client().create_bucket(Bucket=bucket)
    return store


@contextlib.contextmanager
def running(workdir: Path, *, bucket: str = DEFAULT_BUCKET) -> Iterator[ObjectStore]:
    store = start(workdir, bucket=bucket)
    try:
        yield store
    finally:
        store.close()
