"""Read the Terraform state that a ``backend "s3"`` block points at, for adoption. Never writes.

The block's settings are Terraform's: ``bucket``, ``key`` and ``region`` (required); credentials
``profile``, ``access_key``, ``secret_key``, ``token``; ``endpoints { s3 = "..." }`` (or the older
``endpoint``); ``use_path_style`` (or ``force_path_style``); ``assume_role { role_arn,
session_name, external_id }`` (or the older ``role_arn``); ``sse_customer_key`` for objects
encrypted with a customer key; ``max_retries``. Anything unset falls back to boto3's standard
chain (``AWS_PROFILE``, ``AWS_ACCESS_KEY_ID``..., ``AWS_ENDPOINT_URL_S3``), as the provider does,
so the local cloud (``relight local-cloud``) serves the bucket as well.

Settings that concern writing or locking (``encrypt``, ``kms_key_id``, ``acl``,
``dynamodb_table``, ``use_lockfile``, ...) are accepted and unused: reading needs none of them.
Settings that would change how the object is read and that relight does not support are refused
by name rather than ignored. Only the default workspace is read (the object at ``key``).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from relight.diagnostics import Diagnostics
from relight.providers.aws._api import AwsApi, AwsError, AwsSettings
from relight.providers.clock import CloudClock
from relight.providers.framework import CallError
from relight.values import Value

__all__ = ["read_state_object"]

_READ = frozenset(
    {
        "bucket",
        "key",
        "region",
        "profile",
        "access_key",
        "secret_key",
        "token",
        "endpoint",
        "endpoints",
        "use_path_style",
        "force_path_style",
        "assume_role",
        "role_arn",
        "session_name",
        "external_id",
        "sse_customer_key",
        "max_retries",
    }
)
_UNUSED = frozenset(
    {
        "encrypt",
        "kms_key_id",
        "acl",
        "dynamodb_table",
        "dynamodb_endpoint",
        "use_lockfile",
        "workspace_key_prefix",
        "skip_credentials_validation",
        "skip_region_validation",
        "skip_metadata_api_check",
        "skip_requesting_account_id",
        "skip_s3_checksum",
    }
)


def read_state_object(
    settings: Mapping[str, Value], environment: Mapping[str, str], clock: CloudClock
) -> tuple[bytes | None, str, Diagnostics]:
    """The object's bytes, its name (``s3://bucket/key``) and diagnostics; None on any failure.

    ``environment`` is the run's (``AWS_*`` completes the block, as for the provider) and the
    read is timed on the run's ``clock``.

    A missing bucket or key, an unsupported setting, no credentials or an AWS refusal
    (``NoSuchKey``, ``AccessDenied``) are error diagnostics naming the object.
    """
    diags = Diagnostics()
    bucket, key = settings.get("bucket"), settings.get("key")
    source = f"s3://{bucket}/{key}"
    if not isinstance(bucket, str) or not bucket or not isinstance(key, str) or not key:
        diags.error('The backend "s3" block needs bucket and key', "Both name the object that holds the state.")
        return None, source, diags
    unknown = sorted(set(settings) - _READ - _UNUSED)
    if unknown:
        diags.error(
            f"relight cannot read an s3 backend with {', '.join(unknown)} yet",
            f"It supports {', '.join(sorted(_READ))}. Copy the state to a file with 'terraform state pull > "
            "terraform.tfstate' and run 'relight state push terraform.tfstate' instead.",
        )
        return None, source, diags
    try:
        api = AwsApi(AwsSettings(_provider_settings(settings), environment), clock)
        api = _assumed(api, settings, environment)
        params: dict[str, Any] = {"Bucket": bucket, "Key": key, **_customer_key(settings)}
        out = api.call("s3", "GetObject", **params)
        data = bytes(out["Body"].read())
    except AwsError as exc:
        diags.error(f"Cannot read the Terraform state at {source}", _explain(exc))
        return None, source, diags
    except CallError as exc:
        diags.error(f"Cannot read the Terraform state at {source}: {exc.summary}", exc.detail)
        return None, source, diags
    return data, source, diags


def _provider_settings(settings: Mapping[str, Value]) -> dict[str, Value]:
    """The backend block in the provider's terms, so credentials resolve the provider's way."""
    endpoints: dict[str, Value] = {}
    raw = settings.get("endpoints")
    if isinstance(raw, dict) and raw.get("s3"):
        endpoints["s3"] = raw["s3"]
    elif isinstance(raw, list) and raw and isinstance(raw[0], dict) and raw[0].get("s3"):
        endpoints["s3"] = raw[0]["s3"]
    elif settings.get("endpoint"):
        endpoints["s3"] = settings["endpoint"]
    out = {k: settings.get(k) for k in ("region", "profile", "access_key", "secret_key", "token", "max_retries")}
    out["endpoints"] = endpoints
    out["s3_use_path_style"] = bool(settings.get("use_path_style") or settings.get("force_path_style"))
    return out


def _assumed(api: AwsApi, settings: Mapping[str, Value], environment: Mapping[str, str]) -> AwsApi:
    """``api`` with the credentials of the role the block assumes, if it names one."""
    block = settings.get("assume_role")
    role: Mapping[str, Value] = {}
    if isinstance(block, list) and block and isinstance(block[0], dict):
        role = block[0]
    elif isinstance(block, dict):
        role = block
    elif settings.get("role_arn"):
        role = {k: settings.get(k) for k in ("role_arn", "session_name", "external_id")}
    if not role.get("role_arn"):
        return api
    params: dict[str, Any] = {
        "RoleArn": str(role["role_arn"]),
        "RoleSessionName": str(role.get("session_name") or "relight-adopt"),
    }
    if role.get("external_id"):
        params["ExternalId"] = str(role["external_id"])
    creds = api.call("sts", "AssumeRole", **params)["Credentials"]
    assumed = dict(_provider_settings(settings))
    assumed.update(access_key=creds["AccessKeyId"], secret_key=creds["SecretAccessKey"], token=creds["SessionToken"])
    return AwsApi(AwsSettings(assumed, environment), api.clock)


def _customer_key(settings: Mapping[str, Value]) -> dict[str, Any]:
    key = settings.get("sse_customer_key")
    if not key:
        return {}
    try:
        raw = base64.b64decode(str(key), validate=True)
    except (binascii.Error, ValueError):
        raise CallError("sse_customer_key is not base64", "Terraform expects a base64-encoded 256-bit key.") from None
    return {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": raw}


def _explain(exc: AwsError) -> str:
    if exc.code in ("NoSuchKey", "404"):
        return "There is no object at that key: check key (and bucket) in the backend block."
    if exc.code == "NoSuchBucket":
        return "There is no such bucket: check bucket and region in the backend block."
    if exc.code in ("AccessDenied", "403"):
        return "AWS refused to read the object (AccessDenied): the credentials need s3:GetObject on it."
    return f"{exc.summary}: {exc.detail}"
