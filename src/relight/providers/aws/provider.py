"""The ``aws`` provider: Terraform's resource names and attributes, on boto3.

Configuration follows Terraform's ``provider "aws"`` block: ``region``, ``profile``,
``access_key``/``secret_key``/``token``, ``max_retries``, ``endpoints { ec2 = "..." }`` and
``default_tags { tags = {...} }`` (merged into every tagged object's ``tags_all``, see _common);
anything unset comes from the run's environment as boto3's chain would take it (``AWS_REGION``/``AWS_DEFAULT_REGION``,
``AWS_PROFILE``, ``AWS_ACCESS_KEY_ID``..., ``AWS_ENDPOINT_URL`` and
``AWS_ENDPOINT_URL_<SERVICE>``). The same code talks to real AWS and to the local cloud; only
the endpoint differs.
"""

from __future__ import annotations

from relight.providers.aws._api import SERVICES, AwsApi, AwsSettings
from relight.providers.aws.ami import AmiData
from relight.providers.aws.cloudwatch import MetricAlarm
from relight.providers.aws.ebs import EbsSnapshot, EbsSnapshotData, EbsVolume, VolumeAttachment
from relight.providers.aws.instance import Instance
from relight.providers.aws.network import Subnet, Vpc
from relight.providers.aws.route53 import Route53Zone
from relight.providers.aws.route53_record import Route53Record
from relight.providers.aws.security_group import SecurityGroup
from relight.providers.base import (
    Attribute,
    BlockType,
    ConfigureRequest,
    ConfigureResponse,
    ProviderContext,
    Schema,
)
from relight.providers.framework import BaseProvider
from relight.values import UNKNOWN, Value

__all__ = ["AwsProvider"]

_ENDPOINTS = Schema(attributes={name: Attribute("string", optional=True) for name in SERVICES})
_DEFAULT_TAGS = Schema(attributes={"tags": Attribute("map", element="string", optional=True)})

_IGNORED = (
    "skip_credentials_validation",
    "skip_metadata_api_check",
    "skip_requesting_account_id",
    "skip_region_validation",
    "s3_use_path_style",
)


class AwsProvider(BaseProvider):
    """Amazon Web Services (EC2, EBS, CloudWatch, Route 53) through boto3."""

    name = "aws"
    provider_schema = Schema(
        attributes={
            "region": Attribute("string", optional=True),
            "profile": Attribute("string", optional=True),
            "access_key": Attribute("string", optional=True),
            "secret_key": Attribute("string", optional=True, sensitive=True),
            "token": Attribute("string", optional=True, sensitive=True),
            "max_retries": Attribute("number", optional=True),
            **{name: Attribute("any", optional=True) for name in _IGNORED},
        },
        blocks={
            "endpoints": BlockType(_ENDPOINTS, nesting="list", max_items=1),
            "default_tags": BlockType(_DEFAULT_TAGS, nesting="list", max_items=1),
        },
    )
    resource_types = (
        Vpc,
        Subnet,
        SecurityGroup,
        Instance,
        EbsVolume,
        VolumeAttachment,
        EbsSnapshot,
        MetricAlarm,
        Route53Zone,
        Route53Record,
    )
    data_source_types = (AmiData, EbsSnapshotData)

    def __init__(self, context: ProviderContext | None = None) -> None:
        super().__init__(context)
        self.api: AwsApi | None = None
        self.default_tags: Value = {}

    def configure(self, req: ConfigureRequest) -> ConfigureResponse:
        resp = super().configure(req)
        self.default_tags = _default_tags(req.config.get("default_tags"))
        if self.default_tags is None:
            resp.diagnostics.error(
                "Incorrect attribute value type",
                'Inappropriate value for attribute "tags" of the default_tags block of provider "aws": '
                "map of string required.",
                attribute=("default_tags",),
            )
            self.default_tags = {}
        settings = AwsSettings(req.config, self.context.environment)
        try:
            api = AwsApi(settings, self.context.clock)
        except Exception as exc:  # botocore's ProfileNotFound and friends: the user can fix these
            resp.diagnostics.error(
                "Invalid provider configuration for aws",
                f"{type(exc).__name__}: {exc}. Check the provider block and AWS_* environment variables.",
            )
            return resp
        if api.region is None:
            resp.diagnostics.error(
                'The provider "aws" needs a region',
                'Set region in the provider "aws" block, or export AWS_REGION (or AWS_DEFAULT_REGION).',
            )
            return resp
        self.api = api
        return resp


def _default_tags(blocks: Value) -> Value:
    """The ``default_tags`` block's ``tags``: {} without one, UNKNOWN while unknown, None when
    it is not a map of strings (the caller reports it)."""
    if blocks is UNKNOWN:
        return UNKNOWN
    block = blocks[0] if isinstance(blocks, list) and blocks else blocks
    if not isinstance(block, dict):
        return {}
    tags = block.get("tags")
    if tags is UNKNOWN or tags is None:
        return UNKNOWN if tags is UNKNOWN else {}
    if not isinstance(tags, dict) or not all(isinstance(v, str | int | float) or v is UNKNOWN for v in tags.values()):
        return None
    return {str(k): (v if isinstance(v, str) or v is UNKNOWN else _number_text(v)) for k, v in tags.items()}


def _number_text(value: float) -> str:
    """A number in a map of strings, as Terraform converts it (``1`` not ``1.0``)."""
    return str(int(value)) if float(value).is_integer() else str(value)
