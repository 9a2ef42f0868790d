"""`python -m common.env_file`: a .env parsed by django-environ, handed to a shell as exports."""

import os
import subprocess
import sys

import pytest

from common.env_file import env_file_values

ENV_FILE = """\
# a comment
PLAIN=value
export EXPORTED=yes
SINGLE='has spaces and $dollars'
DOUBLE="line\\none"
EMPTY=
QUOTE=it's
1NOT_A_SHELL_NAME=skipped
  INDENTED=ignored
"""


@pytest.fixture
def env_file(tmp_path):
    path = tmp_path / ".env"
    path.write_text(ENV_FILE)
    return path


def test_the_file_is_read_as_the_services_read_it(env_file):
    values = env_file_values(env_file)

    assert values["PLAIN"] == "value"
    assert values["EXPORTED"] == "yes"
    assert values["SINGLE"] == "has spaces and $dollars"
    assert values["DOUBLE"] == "line\\none"
    assert values["EMPTY"] == ""
    assert "INDENTED" not in values


def shell_sees(env_file, names: list[str], **environment: str) -> dict[str, str]:
    """What a shell that evals the exports (scripts/lib.sh) ends up with."""
    script = 'eval "$("$PYTHON" -m common.env_file "$ENV_FILE")"\n' + "".join(
        f'printf "%s=%s\\0" {name} "${{{name}-<unset>}}"\n' for name in names
    )
    base = {key: value for key, value in os.environ.items() if key not in names}
    # bash from the PATH, as the run scripts are run
    result = subprocess.run(  # noqa: S603
        ["bash", "-c", script],  # noqa: S607
        env={**base, "PYTHON": sys.executable, "ENV_FILE": str(env_file), **environment},
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(item.split("=", 1) for item in result.stdout.split("\0") if item)


def test_a_shell_gets_the_values_unchanged(env_file):
    seen = shell_sees(env_file, ["PLAIN", "EXPORTED", "SINGLE", "DOUBLE", "EMPTY", "QUOTE"])

    assert seen == {
        "PLAIN": "value",
        "EXPORTED": "yes",
        "SINGLE": "has spaces and $dollars",
        "DOUBLE": "line\\none",
        "EMPTY": "",
        "QUOTE": "it's",
    }


def test_the_environment_wins_over_the_file(env_file):
    seen = shell_sees(env_file, ["PLAIN"], PLAIN="from the environment")

    assert seen == {"PLAIN": "from the environment"}


def test_a_missing_file_is_an_error(tmp_path):
    result = subprocess.run(  # noqa: S603 -- this interpreter, our module
        [sys.executable, "-m", "common.env_file", str(tmp_path / "missing")],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 1
    assert "no such file" in result.stderr
