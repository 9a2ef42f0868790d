"""Ports for a stack: the preferred ones when all of them are free, else ports the kernel picks,
so a suite never fails because a developer's stack (or another suite's) holds its ports."""

import os
import socket
from collections.abc import Sequence
from typing import NamedTuple

LOOPBACK = "127.0.0.1"


class Ports(NamedTuple):
    gateway: int
    auth: int
    media: int


def is_open(port: int) -> bool:
    """Whether something listens on `port` of the loopback address."""
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((LOOPBACK, port)) == 0


def free_ports(count: int) -> list[int]:
    """`count` distinct ports nothing listens on (the kernel's choice)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind((LOOPBACK, 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def choose(preferred: Sequence[int]) -> list[int]:
    """`preferred` when every one of them is free, else as many free ports."""
    if not any(is_open(port) for port in preferred):
        return list(preferred)
    return free_ports(len(preferred))


def preferred_from_env(prefix: str, default: Ports) -> Ports:
    """`default`, each port replaced by `<prefix>_GATEWAY_PORT`, `_AUTH_PORT`, `_MEDIA_PORT`
    when set (preferred too: taken ones still fall back to free ports)."""
    return Ports(
        *(
            int(os.environ.get(f"{prefix}_{name.upper()}_PORT") or port)
            for name, port in default._asdict().items()
        )
    )
