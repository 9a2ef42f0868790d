"""The lean botocore data (files/botocore_data.py): sessions keep less of botocore's files, and
resolve and sign exactly as a stock session does, for S3 and the credential services, in every
partition, with and without an endpoint URL."""

from urllib.parse import parse_qs, urlsplit

import boto3
import botocore.session
import pytest
from botocore.config import Config
from botocore.loaders import create_loader

from media_handler.files import botocore_data, s3

# One region of each partition botocore knows, and a region outside AWS's (MinIO, Garage).
REGIONS = ["us-east-1", "eu-central-1", "cn-north-1", "us-gov-west-1", "ap-southeast-2", "garage"]
CREDENTIALS = {"aws_access_key_id": "AKIDEXAMPLE", "aws_secret_access_key": "secret"}


def client(botocore_session, service: str, region: str, endpoint_url: str | None, style: str):
    session = boto3.Session(botocore_session=botocore_session, **CREDENTIALS)
    return session.client(
        service,
        region_name=region,
        endpoint_url=endpoint_url,
        config=Config(signature_version="s3v4", s3={"addressing_style": style}),
    )


def signed_parts(url: str) -> tuple:
    """A presigned URL without what changes from one second to the next (its time, and the
    signature over it); the credential scope without its date."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    del query["X-Amz-Date"], query["X-Amz-Signature"]
    key, _date, *scope = query.pop("X-Amz-Credential")[0].split("/")
    return parts.scheme, parts.netloc, parts.path, sorted(query.items()), key, scope


@pytest.mark.parametrize("region", REGIONS)
@pytest.mark.parametrize("endpoint_url", [None, "http://127.0.0.1:9000"])
@pytest.mark.parametrize("style", ["virtual", "path"])
def test_a_lean_session_resolves_and_presigns_s3_as_a_stock_session_does(
    region, endpoint_url, style
):
    lean = client(botocore_data.lean_botocore_session(), "s3", region, endpoint_url, style)
    stock = client(botocore.session.get_session(), "s3", region, endpoint_url, style)

    assert lean.meta.endpoint_url == stock.meta.endpoint_url
    assert lean.meta.region_name == stock.meta.region_name
    params = {"Bucket": "media", "Key": "uploads/a b.jpg", "ResponseContentType": "image/jpeg"}
    assert signed_parts(lean.generate_presigned_url("get_object", Params=params)) == signed_parts(
        stock.generate_presigned_url("get_object", Params=params)
    )


@pytest.mark.parametrize("service", ["sts", "sso", "sso-oidc"])
@pytest.mark.parametrize("region", REGIONS[:5])
def test_a_lean_session_finds_the_credential_services_where_a_stock_session_does(service, region):
    lean = client(botocore_data.lean_botocore_session(), service, region, None, "virtual")
    stock = client(botocore.session.get_session(), service, region, None, "virtual")
    assert lean.meta.endpoint_url == stock.meta.endpoint_url


def test_the_lean_endpoints_keep_only_the_services_called_and_all_of_s3():
    lean = botocore_data.lean_loader().load_data("endpoints")
    stock = create_loader().load_data("endpoints")

    kept = {name for partition in lean["partitions"] for name in partition["services"]}
    assert {"s3", "sts"} <= kept <= botocore_data.SERVICES_CALLED  # sso-oidc has rules only
    for ours, theirs in zip(lean["partitions"], stock["partitions"], strict=True):
        assert ours["partition"] == theirs["partition"]
        assert ours["regions"] == theirs["regions"]
        assert ours["services"].get("s3") == theirs["services"].get("s3")


def documentation(node) -> list[str]:
    """The non-empty documentation strings under `node`."""
    if isinstance(node, list):
        return [text for value in node for text in documentation(value)]
    if not isinstance(node, dict):
        return []
    found = []
    for key, value in node.items():
        if key in botocore_data.DOCUMENTATION_KEYS:
            found += [value] if value else []
        else:
            found += documentation(value)
    return found


def test_the_lean_s3_model_keeps_its_operations_and_shapes_without_documentation():
    lean = botocore_data.lean_loader().load_service_model("s3", "service-2")
    stock = create_loader().load_service_model("s3", "service-2")

    assert documentation(stock)  # what there was to drop
    assert documentation(lean) == []
    assert lean["operations"].keys() == stock["operations"].keys()
    assert lean["shapes"].keys() == stock["shapes"].keys()
    assert lean["shapes"]["PutObjectRequest"]["members"].keys() == (
        stock["shapes"]["PutObjectRequest"]["members"].keys()
    )


def test_the_media_storage_loads_botocores_data_lean(bucket):
    bucket_client = s3.s3_storage().connection.meta.client  # made by the storage's session
    endpoints = bucket_client._loader.load_data("endpoints")
    assert "ec2" not in endpoints["partitions"][0]["services"]
    assert "s3" in endpoints["partitions"][0]["services"]
