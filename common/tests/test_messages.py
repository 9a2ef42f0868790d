"""common.messages: a message published by one service waits in the broker for the other's
worker. Published for real, on kombu's filesystem transport and on Redis, and read back from
the queue as a worker would take it."""

import time
import uuid

import pytest
from kombu import Connection

from common import messages


@pytest.fixture
def file_queue(settings, tmp_path):
    """The server-less queue the development stack uses, in a folder of this test's own."""
    queue = str(tmp_path / "queue")
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": queue,
        "data_folder_out": queue,
        "processed_folder": str(tmp_path / "processed"),
        "store_processed": False,
        "control_folder": str(tmp_path / "control"),
    }
    messages._publisher.cache_clear()
    yield settings
    messages._publisher.cache_clear()


def take_one(settings) -> tuple[dict, tuple]:
    """The next message on the media queue, acknowledged: its headers and (args, kwargs)."""
    with Connection(
        settings.CELERY_BROKER_URL, transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS
    ) as connection:
        queue = connection.SimpleQueue(settings.CELERY_TASK_DEFAULT_QUEUE)
        try:
            message = queue.get(timeout=5)
            message.ack()
            return message.headers, message.payload
        finally:
            queue.close()


def test_a_published_message_waits_on_the_media_queue(file_queue):
    messages.publish("media.example", user_id=42)

    headers, (args, kwargs, _) = take_one(file_queue)

    assert headers["task"] == "media.example"
    assert args == []
    assert kwargs == {"user_id": 42}


def test_messages_wait_until_taken_in_the_order_they_were_published(file_queue):
    # kombu's file transport names each message by the millisecond it was published, then a
    # random id: messages of one millisecond come in any order (CI drew 1, 3, 2 once). Nothing
    # here needs more; the order across milliseconds is what the file queue keeps.
    for user_id in (1, 2, 3):
        messages.publish("media.example", user_id=user_id)
        time.sleep(0.002)

    taken = [take_one(file_queue)[1][1]["user_id"] for _ in range(3)]

    assert taken == [1, 2, 3]


@pytest.mark.redis
def test_a_message_published_on_redis_waits_for_a_worker(settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/9"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
    settings.CELERY_TASK_DEFAULT_QUEUE = f"media-test-{uuid.uuid4().hex[:8]}"
    messages._publisher.cache_clear()
    try:
        messages.publish("media.example", user_id=7)
        headers, (_, kwargs, _) = take_one(settings)
    finally:
        messages._publisher.cache_clear()
    assert headers["task"] == "media.example"
    assert kwargs == {"user_id": 7}
