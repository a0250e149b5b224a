"""The ``relight`` provider: ``data "relight_image"``, the image a channel of the registry points at.

::

    data "relight_image" "ghe" {
      name    = "ghe"          # the image name (a template's build name, else its source name)
      channel = "production"   # default "production"
    }
    resource "aws_instance" "node" { ami = data.relight_image.ghe.id ... }

The registry writes each channel on the image it points at as the tag
``relight:channel:CHANNEL = "true"`` (and the name as ``relight:image-name``), so this reads
the cloud alone (``DescribeImages`` with tag filters): it works wherever the configuration runs,
with or without the registry's file. A revoked image is refused; no image in the channel is an
error saying how to promote one. Settings (region, credentials, endpoints) come from an optional
``provider "relight" { region = ... }`` block and the run's environment, as for ``aws``.
"""

from __future__ import annotations

from relight.providers.aws._api import AwsApi, AwsSettings
from relight.providers.aws._common import from_tag_list
from relight.providers.base import (
    Attribute,
    ConfigureRequest,
    ConfigureResponse,
    ProviderContext,
    ReadDataRequest,
    ReadDataResponse,
    Schema,
)
from relight.providers.framework import BaseProvider, CallError, DataSource

__all__ = [
    "BUILD_ID_TAG", "CHANNEL_TAG_PREFIX", "DIGEST_TAG", "IMAGE_NAME_TAG", "REVOKED_TAG", "SOURCE_IMAGE_TAG",
    "RelightImageData", "RelightProvider",
]

# The tags relight's image builds write on an image (relight.images writes them; this data
# source reads them): one place for their spelling.
BUILD_ID_TAG = "relight:build-id"  # on every temporary resource of a build and on its image
DIGEST_TAG = "relight:build-digest"
SOURCE_IMAGE_TAG = "relight:source-image"
IMAGE_NAME_TAG = "relight:image-name"
CHANNEL_TAG_PREFIX = "relight:channel:"  # relight:channel:production = "true"
REVOKED_TAG = "relight:revoked"


class RelightImageData(DataSource):
    name = "relight_image"
    schema = Schema(
        attributes={
            "name": Attribute("string", required=True),
            "channel": Attribute("string", optional=True, default="production"),
            "id": Attribute("string", computed=True),
            "image_id": Attribute("string", computed=True),
            "ami_name": Attribute("string", computed=True),
            "region": Attribute("string", computed=True),
            "creation_date": Attribute("string", computed=True),
            "build_id": Attribute("string", computed=True),
            "digest": Attribute("string", computed=True),
            "source_image": Attribute("string", computed=True),
            "tags": Attribute("map", element="string", computed=True),
        }
    )

    def read(self, req: ReadDataRequest) -> ReadDataResponse:
        api = self.provider.api  # type: ignore[attr-defined]
        if not isinstance(api, AwsApi):
            raise CallError("The relight provider is not configured", "This is a bug: configure was not called.")
        name = str(req.config["name"])
        channel = str(req.config.get("channel") or "production")
        filters = [
            {"Name": f"tag:{IMAGE_NAME_TAG}", "Values": [name]},
            {"Name": f"tag:{CHANNEL_TAG_PREFIX}{channel}", "Values": ["true"]},
            {"Name": "state", "Values": ["available"]},
        ]
        images = api.call("ec2", "DescribeImages", Owners=["self"], Filters=filters).get("Images", [])
        tags_of = [{str(t["Key"]): str(t.get("Value", "")) for t in i.get("Tags", []) or []} for i in images]
        live = [(i, t) for i, t in zip(images, tags_of, strict=True) if REVOKED_TAG not in t]
        if not live:
            raise CallError(
                f'No image of "{name}" is in the channel "{channel}"',
                f"Promote one: relight image promote IMAGE_ID --channel {channel} "
                "(relight image list shows the builds).",
            )
        if len(live) > 1:
            ids = ", ".join(sorted(str(i["ImageId"]) for i, _ in live))
            raise CallError(
                f'The channel "{channel}" of "{name}" points at more than one image ({ids})',
                "Promote the one you want again; it removes the channel from the others.",
            )
        image, tags = live[0]
        state = dict(req.config)
        state.update(
            {
                "channel": channel,
                "id": image["ImageId"],
                "image_id": image["ImageId"],
                "ami_name": image.get("Name"),
                "region": api.region,
                "creation_date": image.get("CreationDate"),
                "build_id": tags.get(BUILD_ID_TAG),
                "digest": tags.get(DIGEST_TAG),
                "source_image": tags.get(SOURCE_IMAGE_TAG),
                "tags": from_tag_list(image.get("Tags")) or {},
            }
        )
        return ReadDataResponse(state)


class RelightProvider(BaseProvider):
    """relight's own data sources (the image registry's channels), on the aws boundary."""

    name = "relight"
    provider_schema = Schema(
        attributes={
            "region": Attribute("string", optional=True),
            "profile": Attribute("string", optional=True),
        }
    )
    data_source_types = (RelightImageData,)

    def __init__(self, context: ProviderContext | None = None) -> None:
        super().__init__(context)
        self.api: AwsApi | None = None

    def configure(self, req: ConfigureRequest) -> ConfigureResponse:
        resp = super().configure(req)
        try:
            api = AwsApi(AwsSettings(req.config, self.context.environment), self.context.clock)
        except Exception as exc:  # botocore's ProfileNotFound and friends: the user can fix these
            resp.diagnostics.error("Invalid provider configuration for relight", f"{type(exc).__name__}: {exc}.")
            return resp
        if api.region is None:
            resp.diagnostics.error(
                'The provider "relight" needs a region',
                'Set region in a provider "relight" block, or export AWS_REGION.',
            )
            return resp
        self.api = api
        return resp
