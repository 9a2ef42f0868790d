"""`python -m common.env_file PATH`: the variables a `.env` file sets that the environment does
not, as `export NAME='value'` lines for a shell to `eval` (scripts/lib.sh).

The file is parsed by django-environ, as the services parse it, so the run scripts see exactly
the values the services will.
"""

import os
import re
import shlex
import sys
from pathlib import Path

import environ

_SHELL_NAME = re.compile(r"\A[A-Za-z_][A-Za-z0-9_]*\Z")


def env_file_values(path: Path) -> dict[str, str]:
    """The variables a `.env` file sets, parsed as `environ.Env.read_env` parses it."""

    class FileOnly(environ.Env):
        ENVIRON: dict[str, str] = {}  # read_env fills this dict, not os.environ

    FileOnly.read_env(path, overwrite=True)
    return FileOnly.ENVIRON


def exports(path: Path) -> list[str]:
    """`export` lines for the file's variables, the environment winning as in the services."""
    return [
        f"export {name}={shlex.quote(value)}"
        for name, value in env_file_values(path).items()
        if _SHELL_NAME.match(name) and name not in os.environ
    ]


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m common.env_file PATH", file=sys.stderr)
        return 2
    path = Path(argv[0])
    if not path.is_file():
        print(f"{path}: no such file", file=sys.stderr)
        return 1
    print("\n".join(exports(path)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
