"""Two media nodes behind one gateway upstream (docs/scaling.md): the stack's media service
(node A) and a second one started here (node B: another port, another temporary directory, the
same settings, so the same PostgreSQL or SQLite, Redis or file cache, job queue and bucket), both
in the MEDIA_UPSTREAM of a second gateway rendered from the same template. With `make e2e-s3`
they share the bucket; with `make e2e` a MEDIA_ROOT on one disk, as a network share would.

Anything uploaded through one node is listed, downloaded (with Range) and deleted through the
other; with one node stopped mid-run, every request after the stop succeeds on the other."""

import hashlib
import threading
import time
from urllib.parse import urlsplit

import pytest
import requests

from devstack import client, samples
from devstack.client import expect
from devstack.nodes import extra_node_behind_gateway, stop


def upload_sound(http, base: str, tokens: dict, content: bytes) -> dict:
    uploaded = client.upload(http, base, tokens, content, media_type="audio", filename="a.wav")
    return expect(uploaded, 201).json()


@pytest.fixture(scope="module")
def two_nodes(stack, tmp_path_factory):
    """(node A's URL, node B's URL, the two-node gateway's URL, node B's process, its log)."""
    with extra_node_behind_gateway(stack, tmp_path_factory.mktemp("two-nodes")) as node_b:
        yield stack.media, node_b.url, node_b.gateway, node_b.process, node_b.log


def test_what_one_node_stores_the_other_lists_serves_with_range_and_deletes(http, stack, two_nodes):
    node_a, node_b, _, _, _ = two_nodes
    tokens = client.register(http, stack.gateway)
    content = samples.wav_bytes(2)

    created = expect(
        client.upload(http, node_a, tokens, content, media_type="audio", filename="a.wav"), 201
    ).json()

    listed = expect(http.get(f"{node_b}/api/media/", headers=client.bearer(tokens)), 200).json()
    assert [item["id"] for item in listed["results"]] == [created["id"]]
    signed = listed["results"][0]["file"]
    assert signed.startswith(f"{node_b}/")
    ranged = expect(http.get(signed, headers={"Range": "bytes=100-199"}), 206)
    assert ranged.content == content[100:200]
    whole = expect(http.get(signed), 200)
    assert whole.content == content

    expect(http.delete(f"{node_b}/api/media/{created['id']}/", headers=client.bearer(tokens)), 204)
    gone = http.get(f"{node_a}/api/media/{created['id']}/", headers=client.bearer(tokens))
    assert gone.status_code == 404


def test_through_the_shared_gateway_every_request_reaches_a_node_that_serves_it(
    http, stack, two_nodes
):
    _, _, gateway, _, node_b_log = two_nodes
    tokens = client.register(http, stack.gateway)
    content = samples.wav_bytes(1)
    served_by_b_before = node_b_log.read_text(errors="replace").count("GET /api/media/")
    created = [
        expect(
            client.upload(http, gateway, tokens, content, media_type="audio", filename="a.wav"), 201
        ).json()
        for _ in range(4)
    ]
    for _ in range(3):  # round robin: each media read through both nodes
        for media in created:
            fetched = expect(
                http.get(f"{gateway}/api/media/{media['id']}/", headers=client.bearer(tokens)),
                200,
            ).json()
            assert fetched["file"].startswith(f"{gateway}/")
            part = expect(http.get(fetched["file"], headers={"Range": "bytes=-16"}), 206)
            assert part.content == content[-16:]
    # Node B took its share (node A's is the rest: every answer above was right).
    served_by_b = node_b_log.read_text(errors="replace").count("GET /api/media/")
    assert served_by_b - served_by_b_before >= 6


def test_a_resumable_upload_goes_on_at_whichever_node_takes_each_chunk(http, stack, two_nodes):
    """tus chunks sent to the two nodes in turn. On S3 the nodes share no disk (node B has a
    MEDIA_ROOT and temporary directory of its own): the bytes received so far are objects of the
    bucket. On local disk they share MEDIA_ROOT, as a network share would."""
    node_a, node_b, _, _, _ = two_nodes
    tokens = client.register(http, stack.gateway)
    content = samples.wav_bytes(2)
    tus = {**client.TUS, **client.bearer(tokens)}
    metadata = client.tus_metadata(filename="walk.wav", type="audio")
    created = client.tus_create(
        http, node_a, tus, length=len(content), metadata=metadata, timeout=30
    )
    path = urlsplit(created).path
    piece = len(content) // 5 + 1
    last = None
    for number, offset in enumerate(range(0, len(content), piece)):
        node, other = (node_a, node_b) if number % 2 else (node_b, node_a)
        last = client.tus_patch(
            http, f"{node}{path}", tus, offset=offset, data=content[offset : offset + piece]
        )
        state = expect(http.head(f"{other}{path}", headers=tus, timeout=30), 200)
        assert state.headers["Upload-Offset"] == str(min(offset + piece, len(content)))

    assert last is not None
    media = expect(
        http.get(f"{node_a}/api/media/{last.headers['Media-Id']}/", headers=tus, timeout=30), 200
    ).json()
    assert media["checksum_sha256"] == hashlib.sha256(content).hexdigest()
    assert expect(http.get(media["file"], timeout=30), 200).content == content


def test_an_idempotency_key_used_on_one_node_is_honoured_by_the_other(http, stack, two_nodes):
    """Keys live in the shared database (SPEC.md, "Idempotency and duplicates"): a retry that
    lands on the other node gets the first answer, and nothing is made twice."""
    node_a, node_b, _, _, _ = two_nodes
    tokens = client.register(http, stack.gateway)
    key = {"Idempotency-Key": f"two-nodes-{time.time_ns()}", **client.bearer(tokens)}
    body = {"name": "Trip", "description": "made once"}

    first = http.post(f"{node_a}/api/media/collections/", json=body, headers=key, timeout=30)
    retry = http.post(f"{node_b}/api/media/collections/", json=body, headers=key, timeout=30)
    other = http.post(
        f"{node_b}/api/media/collections/", json={**body, "name": "Else"}, headers=key, timeout=30
    )
    listed = http.get(f"{node_b}/api/media/collections/", headers=client.bearer(tokens), timeout=30)

    assert expect(first, 201).json() == expect(retry, 201).json()
    assert retry.headers.get("Idempotent-Replayed") == "true"
    assert other.status_code == 422, other.text
    assert [item["id"] for item in expect(listed, 200).json()["results"]] == [first.json()["id"]]


def test_with_one_node_stopped_mid_run_every_later_request_succeeds(http, stack, two_nodes):
    _, _, gateway, node_b, _ = two_nodes
    tokens = client.register(http, stack.gateway)
    content = samples.wav_bytes(1)
    media = expect(
        client.upload(http, gateway, tokens, content, media_type="audio", filename="a.wav"), 201
    ).json()
    statuses: list[tuple[float, int, str]] = []
    stopped_at: list[float] = []
    done = threading.Event()

    def traffic() -> None:
        with requests.Session() as session:
            while not done.is_set():
                response = session.get(
                    f"{gateway}/api/media/{media['id']}/", headers=client.bearer(tokens), timeout=10
                )
                statuses.append(
                    (time.monotonic(), response.status_code, response.headers["Content-Type"])
                )
                if response.ok:
                    file = session.get(response.json()["file"], timeout=10)
                    statuses.append(
                        (time.monotonic(), file.status_code, file.headers["Content-Type"])
                    )

    worker = threading.Thread(target=traffic)
    worker.start()
    try:
        time.sleep(2)
        stopped_at.append(time.monotonic())
        stop(node_b)
        time.sleep(3)
        # Writes after the stop land on the node that is left.
        after = expect(
            client.upload(http, gateway, tokens, content, media_type="audio", filename="a.wav"), 201
        ).json()
        expect(http.get(f"{gateway}/api/media/{after['id']}/", headers=client.bearer(tokens)), 200)
    finally:
        done.set()
        worker.join(timeout=30)

    assert node_b.poll() is not None
    before = [status for at, status, _ in statuses if at < stopped_at[0]]
    later = [(status, kind) for at, status, kind in statuses if at > stopped_at[0] + 1]
    assert before
    assert later
    assert all(status == 200 for status in before)
    # Requests in flight at the stop may fail, as JSON; every later one succeeds.
    assert all(status == 200 for status, _ in later), later
    failed = [kind for at, status, kind in statuses if status != 200]
    assert all(kind.startswith("application/json") for kind in failed)
