"""Libraries for the browser tests, made the way a client makes them: through the public API."""

from concurrent.futures import ThreadPoolExecutor

import requests

from devstack import client


def create_records(gateway: str, tokens: dict, names: list[str]) -> None:
    """Records without a file (as in the seed README's example), six requests at a time."""

    def create(index_and_name: tuple[int, str]) -> None:
        index, name = index_and_name
        with requests.Session() as http:
            response = http.post(
                f"{gateway}/api/media/media/",
                json={"name": name, "type": "image", "size": 1000 + index},
                headers=client.bearer(tokens),
                timeout=30,
            )
            client.expect(response, 201)

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(create, enumerate(names)))
