"""botocore's data files, loaded lean for the bucket's sessions (files/s3.py).

Every botocore session parses and keeps `endpoints.json`: the endpoints of every AWS service
in every region, 6.7 MiB of Python objects, to sign for the one service we call (0.2 MiB with
only ours). It also keeps each service model's documentation (1.2 of S3's 3.2 MiB), which only
help(), never a request, reads. Every media worker and job worker with a bucket holds a session,
so the waste is per process (botocore#3078, boto3#1670; docs/performance.md, worker memory).

The lean loader is botocore's own, with a file loader that keeps, of `endpoints`, only the
services a session here calls (S3, and those botocore calls itself to get credentials), and
blanks the models' documentation (blanked, not removed, as botocore's docstrings still look
the keys up). The data keeps its shape, so endpoint resolution and signing are botocore's own:
media_handler/tests/test_botocore_data.py checks them against a stock session.
"""

import os
from collections.abc import MutableMapping, MutableSequence
from typing import Any

import botocore.session
from botocore.loaders import JSONFileLoader, Loader, create_loader

# S3, and what botocore's credential providers call for a role (sts), or for an SSO profile.
SERVICES_CALLED = frozenset({"s3", "sts", "sso", "sso-oidc"})
ENDPOINTS_FILE = "endpoints"
SERVICE_MODEL_FILE = "service-2"
DOCUMENTATION_KEYS = frozenset({"documentation", "documentationUrl"})


class LeanJSONFileLoader(JSONFileLoader):
    """botocore's JSON file loader, keeping less of two files (see the module's docstring)."""

    def load_file(self, file_path: str) -> Any:
        data = super().load_file(file_path)
        if data is None:
            return None
        name = os.path.basename(file_path)
        if name == ENDPOINTS_FILE:
            keep_services(data, SERVICES_CALLED)
        elif name == SERVICE_MODEL_FILE:
            blank_documentation(data)
        return data


def keep_services(endpoints: dict[str, Any], services: frozenset[str]) -> None:
    """Drop from each partition of `endpoints` the services not in `services`."""
    for partition in endpoints.get("partitions", []):
        partition["services"] = {
            name: entry for name, entry in partition.get("services", {}).items() if name in services
        }


def blank_documentation(node: Any) -> None:
    """Empty every documentation string under `node`, in place."""
    if isinstance(node, MutableMapping):
        for key, value in node.items():
            if key in DOCUMENTATION_KEYS and isinstance(value, str):
                node[key] = ""
            else:
                blank_documentation(value)
    elif isinstance(node, MutableSequence):
        for value in node:
            blank_documentation(value)


def lean_loader(data_path: str | None = None) -> Loader:
    """botocore's loader for `data_path` (AWS_DATA_PATH, as botocore reads it), lean."""
    loader = create_loader(data_path)
    loader.file_loader = LeanJSONFileLoader()
    return loader


def lean_botocore_session() -> botocore.session.Session:
    """A botocore session (to hand boto3.Session) that loads its data files lean."""
    session = botocore.session.get_session()
    session.register_component("data_loader", lean_loader(session.get_config_variable("data_path")))
    return session
