"""The stack sees only what its spec says: a developer's own settings in the shell that runs the
suite (conftest.developer_shell) reach neither service; the spec's own settings do. (nginx
rewrites its own environment block, so it cannot be read back; the script renders its
configuration from the same environment.)"""

import pytest

from devstack import processes
from devstack.polling import wait_until


@pytest.mark.parametrize("service", ["auth", "media"])
def test_a_developers_shell_configuration_does_not_reach_the_stack(stack, developer_shell, service):
    seen = processes.environment(stack.pid(service))
    assert seen, f"no environment for the {service} process"
    leaked = {name: value for name, value in developer_shell.items() if seen.get(name) == value}
    assert leaked == {}
    assert seen["MAX_UPLOAD_SIZE"] == stack.env["MAX_UPLOAD_SIZE"]


def test_the_job_worker_runs_the_hourly_schedule(stack):
    """The sweep of expired resumable uploads, idempotency keys and old change-feed entries
    (CELERY_BEAT_SCHEDULE) needs a scheduler: the stack's one worker runs it (--beat)."""
    assert wait_until(lambda: "beat: Starting" in stack.log(), timeout=20), stack.tail()
