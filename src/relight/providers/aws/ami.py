"""The ``aws_ami`` data source: the newest (``most_recent``) image matching owners and filters."""

from __future__ import annotations

import re
from typing import Any

from relight.providers.aws import _tfshapes
from relight.providers.aws._common import FILTER_BLOCK, AwsDataSource, ec2_filters, from_tag_list, most_recent
from relight.providers.base import Attribute, ReadDataRequest, ReadDataResponse, Schema

__all__ = ["AmiData"]


class AmiData(AwsDataSource):
    """``data "aws_ami"``: the newest (``most_recent``) image matching owners and filters."""

    name = "aws_ami"
    terraform = _tfshapes.AMI_DATA
    schema = Schema(
        attributes={
            "most_recent": Attribute("bool", optional=True, default=False),
            "owners": Attribute("list", element="string", optional=True),
            "executable_users": Attribute("list", element="string", optional=True),
            "name_regex": Attribute("string", optional=True),
            "id": Attribute("string", computed=True),
            "image_id": Attribute("string", computed=True),
            "arn": Attribute("string", computed=True),
            "name": Attribute("string", computed=True),
            "description": Attribute("string", computed=True),
            "owner_id": Attribute("string", computed=True),
            "creation_date": Attribute("string", computed=True),
            "architecture": Attribute("string", computed=True),
            "root_device_name": Attribute("string", computed=True),
            "root_device_type": Attribute("string", computed=True),
            "virtualization_type": Attribute("string", computed=True),
            "state": Attribute("string", computed=True),
            "tags": Attribute("map", element="string", computed=True),
        },
        blocks={
            "filter": FILTER_BLOCK,
        },
    )

    def read(self, req: ReadDataRequest) -> ReadDataResponse:
        c = req.config
        params: dict[str, Any] = {}
        if c.get("owners"):
            params["Owners"] = list(c["owners"])
        if c.get("executable_users"):
            params["ExecutableUsers"] = list(c["executable_users"])
        filters = ec2_filters(c.get("filter"))
        if filters:
            params["Filters"] = filters
        images = self.api.call("ec2", "DescribeImages", **params).get("Images", [])
        if c.get("name_regex"):
            pattern = re.compile(str(c["name_regex"]))
            images = [i for i in images if pattern.search(i.get("Name", ""))]
        asked = f"data.aws_ami: no image matched owners={c.get('owners')} and filters {filters}."
        image = most_recent(images, c, asked, key=lambda i: (i.get("CreationDate", ""), i.get("ImageId", "")))
        state = dict(c)
        state.update(
            {
                "id": image["ImageId"],
                "image_id": image["ImageId"],
                "arn": f"arn:aws:ec2:{self.api.region}::image/{image['ImageId']}",
                "name": image.get("Name"),
                "description": image.get("Description"),
                "owner_id": image.get("OwnerId"),
                "creation_date": image.get("CreationDate"),
                "architecture": image.get("Architecture"),
                "root_device_name": image.get("RootDeviceName"),
                "root_device_type": image.get("RootDeviceType"),
                "virtualization_type": image.get("VirtualizationType"),
                "state": image.get("State"),
                "tags": from_tag_list(image.get("Tags")) or {},
            }
        )
        return ReadDataResponse(state)
