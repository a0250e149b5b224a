"""The Terraform state that Terraform's AWS provider (v5) would have written for the example stack.

Terraform cannot download its AWS provider here, so this module plays the provider's Read: it
describes each object of examples/github-enterprise in the (local) cloud with boto3 and writes
the attributes, nesting, schema versions, ``tags_all``, ``timeouts``, private data and
``sensitive_attributes`` the way v5 of the provider stores them (checked against states that
provider wrote). It shares no code with relight's conversion, so adopting its output tests that
conversion against an independent picture of Terraform's format.

Object ids come from relight's own state of the same stack (ids only: every attribute is read
from the cloud); dependencies are Terraform's (all transitive ancestors).
"""

from __future__ import annotations

import base64
import json
from typing import Any

import boto3

from relight.localcloud import ACCOUNT, REGION

_TIMEOUTS = "e2bfb730-ecaa-11e6-8f88-34363bc7c4c0"
_AWS = 'provider["registry.terraform.io/hashicorp/aws"]'
_MIN = 60_000_000_000


def _private(schema_version: int = 0, **minutes: int) -> str:
    meta: dict[str, Any] = {}
    if minutes:
        meta[_TIMEOUTS] = {k: v * _MIN for k, v in sorted(minutes.items())}
    if schema_version:
        meta["schema_version"] = str(schema_version)
    return base64.b64encode(json.dumps(meta, sort_keys=True, separators=(",", ":")).encode()).decode()


def _tags(items: list[dict[str, str]] | None) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in items or [] if not t["Key"].startswith(("relight:", "aws:"))}


def _instance_entry(attrs: dict[str, Any], version: int, private: str | None, deps: list[str]) -> dict[str, Any]:
    entry: dict[str, Any] = {"schema_version": version, "attributes": attrs, "sensitive_attributes": []}
    if private:
        entry["private"] = private
    if deps:
        entry["dependencies"] = deps
    return entry


def _resource(mode: str, type_: str, name: str, entry: dict[str, Any]) -> dict[str, Any]:
    return {"mode": mode, "type": type_, "name": name, "provider": _AWS, "instances": [entry]}


class TerraformAwsV5:
    """Reads the stack's objects and renders them as the provider would."""

    def __init__(self) -> None:
        self.ec2 = boto3.client("ec2")
        self.cloudwatch = boto3.client("cloudwatch")
        self.route53 = boto3.client("route53")

    def state(self, ids: dict[str, Any], lineage: str, serial: int) -> dict[str, Any]:
        base = ["aws_security_group.ghe", "aws_subnet.private", "aws_vpc.main", "data.aws_ami.ghe"]
        node = ["aws_instance.ghe_node", *base]
        resources = [
            _resource("data", "aws_ami", "ghe", _instance_entry(self.ami(ids["ami"]), 0, None, [])),
            self._managed("aws_cloudwatch_metric_alarm", "ghe_cpu_high", self.alarm(ids["cpu_alarm"]), 1, node),
            self._managed("aws_cloudwatch_metric_alarm", "ghe_status_check", self.alarm(ids["status_alarm"]), 1, node),
            self._managed("aws_ebs_volume", "ghe_data", self.volume(ids["volume"]), 0, []),
            self._managed("aws_instance", "ghe_node", self.instance(ids["instance"]), 1, base),
            self._managed("aws_route53_record", "ghe", self.record(*ids["record"]), 2, sorted([*node, "aws_route53_zone.internal"])),
            self._managed("aws_route53_zone", "internal", self.zone(ids["zone"]), 0, ["aws_vpc.main"]),
            self._managed("aws_security_group", "ghe", self.security_group(ids["security_group"]), 1, ["aws_vpc.main"]),
            self._managed("aws_subnet", "private", self.subnet(ids["subnet"]), 1, ["aws_vpc.main"]),
            self._managed(
                "aws_volume_attachment", "ghe_data", self.attachment(*ids["attachment"]), 0,
                sorted(["aws_ebs_volume.ghe_data", *node]),
            ),
            self._managed("aws_vpc", "main", self.vpc(ids["vpc"]), 1, []),
        ]
        return {
            "version": 4,
            "terraform_version": "1.11.4",
            "serial": serial,
            "lineage": lineage,
            "outputs": {
                "data_volume_id": {"value": ids["volume"], "type": "string"},
                "dns_name": {"value": ids["record"][1], "type": "string"},
                "instance_id": {"value": ids["instance"], "type": "string"},
                "private_ip": {"value": "10.0.1.10", "type": "string"},
            },
            "resources": resources,
            "check_results": None,
        }

    def _managed(self, type_: str, name: str, attrs: dict[str, Any], version: int, deps: list[str]) -> dict[str, Any]:
        private = {
            "aws_vpc": _private(1),
            "aws_subnet": _private(1, create=10, delete=20),
            "aws_security_group": _private(1, create=10, delete=15),
            "aws_instance": _private(1, create=10, update=10, delete=20, read=15),
            "aws_ebs_volume": _private(0, create=5, update=5, delete=10),
            "aws_volume_attachment": _private(0, create=5, delete=5),
            "aws_cloudwatch_metric_alarm": _private(1),
            "aws_route53_record": _private(2, create=30, update=30, delete=30),
        }.get(type_)
        return _resource("managed", type_, name, _instance_entry(attrs, version, private, deps))

    # -- one object each, as the provider's Read sets it ------------------------------------

    def vpc(self, vpc_id: str) -> dict[str, Any]:
        vpc = self.ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]
        dns = {
            a: self.ec2.describe_vpc_attribute(VpcId=vpc_id, Attribute=a)[a[0].upper() + a[1:]]["Value"]
            for a in ("enableDnsSupport", "enableDnsHostnames")
        }
        flt = [{"Name": "vpc-id", "Values": [vpc_id]}]
        main = self.ec2.describe_route_tables(Filters=[*flt, {"Name": "association.main", "Values": ["true"]}])
        acl = self.ec2.describe_network_acls(Filters=[*flt, {"Name": "default", "Values": ["true"]}])
        sg = self.ec2.describe_security_groups(Filters=[*flt, {"Name": "group-name", "Values": ["default"]}])
        rtb = main["RouteTables"][0]["RouteTableId"]
        tags = _tags(vpc.get("Tags"))
        return {
            "arn": f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc/{vpc_id}",
            "assign_generated_ipv6_cidr_block": False,
            "cidr_block": vpc["CidrBlock"],
            "default_network_acl_id": acl["NetworkAcls"][0]["NetworkAclId"],
            "default_route_table_id": rtb,
            "default_security_group_id": sg["SecurityGroups"][0]["GroupId"],
            "dhcp_options_id": vpc.get("DhcpOptionsId", ""),
            "enable_dns_hostnames": dns["enableDnsHostnames"],
            "enable_dns_support": dns["enableDnsSupport"],
            "enable_network_address_usage_metrics": False,
            "id": vpc_id,
            "instance_tenancy": vpc.get("InstanceTenancy", "default"),
            "ipv4_ipam_pool_id": None,
            "ipv4_netmask_length": None,
            "ipv6_association_id": "",
            "ipv6_cidr_block": "",
            "ipv6_cidr_block_network_border_group": "",
            "ipv6_ipam_pool_id": "",
            "ipv6_netmask_length": 0,
            "main_route_table_id": rtb,
            "owner_id": vpc.get("OwnerId", ACCOUNT),
            "tags": tags,
            "tags_all": tags,
        }

    def subnet(self, subnet_id: str) -> dict[str, Any]:
        sn = self.ec2.describe_subnets(SubnetIds=[subnet_id])["Subnets"][0]
        tags = _tags(sn.get("Tags"))
        return {
            "arn": f"arn:aws:ec2:{REGION}:{ACCOUNT}:subnet/{subnet_id}",
            "assign_ipv6_address_on_creation": False,
            "availability_zone": sn["AvailabilityZone"],
            "availability_zone_id": sn.get("AvailabilityZoneId", ""),
            "cidr_block": sn["CidrBlock"],
            "customer_owned_ipv4_pool": "",
            "enable_dns64": False,
            "enable_lni_at_device_index": 0,
            "enable_resource_name_dns_a_record_on_launch": False,
            "enable_resource_name_dns_aaaa_record_on_launch": False,
            "id": subnet_id,
            "ipv6_cidr_block": "",
            "ipv6_cidr_block_association_id": "",
            "ipv6_native": False,
            "map_customer_owned_ip_on_launch": False,
            "map_public_ip_on_launch": sn.get("MapPublicIpOnLaunch", False),
            "outpost_arn": "",
            "owner_id": sn.get("OwnerId", ACCOUNT),
            "private_dns_hostname_type_on_launch": "ip-name",
            "tags": tags,
            "tags_all": tags,
            "timeouts": None,
            "vpc_id": sn["VpcId"],
        }

    def security_group(self, group_id: str) -> dict[str, Any]:
        sg = self.ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
        tags = _tags(sg.get("Tags"))
        return {
            "arn": f"arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/{group_id}",
            "description": sg["Description"],
            "egress": _rules(sg.get("IpPermissionsEgress", [])),
            "id": group_id,
            "ingress": _rules(sg.get("IpPermissions", [])),
            "name": sg["GroupName"],
            "name_prefix": "",
            "owner_id": sg.get("OwnerId", ACCOUNT),
            "revoke_rules_on_delete": False,
            "tags": tags,
            "tags_all": tags,
            "timeouts": None,
            "vpc_id": sg["VpcId"],
        }

    def instance(self, instance_id: str) -> dict[str, Any]:
        inst = self.ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
        mappings = inst.get("BlockDeviceMappings", [])
        root = [m for m in mappings if m["DeviceName"] == inst.get("RootDeviceName")]
        # The emulator mounts every root device at /dev/sda1, whatever the image says.
        root = root or [m for m in mappings if m["DeviceName"] in ("/dev/sda1", "/dev/xvda")][:1]
        root_name = root[0]["DeviceName"] if root else ""
        roots = []
        for m in root:
            vol = self.ec2.describe_volumes(VolumeIds=[m["Ebs"]["VolumeId"]])["Volumes"][0]
            roots.append({
                "delete_on_termination": m["Ebs"].get("DeleteOnTermination", True),
                "device_name": root_name,
                "encrypted": vol.get("Encrypted", False),
                "iops": vol.get("Iops", 0),
                "kms_key_id": vol.get("KmsKeyId", ""),
                "tags": {},
                "tags_all": {},
                "throughput": vol.get("Throughput", 0),
                "volume_id": vol["VolumeId"],
                "volume_size": vol["Size"],
                "volume_type": vol["VolumeType"],
            })
        tags = _tags(inst.get("Tags"))
        return {
            "ami": inst["ImageId"],
            "arn": f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/{instance_id}",
            "associate_public_ip_address": bool(inst.get("PublicIpAddress")),
            "availability_zone": inst["Placement"]["AvailabilityZone"],
            "capacity_reservation_specification": [{"capacity_reservation_preference": "open", "capacity_reservation_target": []}],
            "cpu_core_count": 4,
            "cpu_options": [{"amd_sev_snp": "", "core_count": 4, "threads_per_core": 2}],
            "cpu_threads_per_core": 2,
            "credit_specification": [],
            "disable_api_stop": False,
            "disable_api_termination": False,
            "ebs_block_device": [],
            "ebs_optimized": False,
            "enable_primary_ipv6": None,
            "enclave_options": [{"enabled": False}],
            "ephemeral_block_device": [],
            "get_password_data": False,
            "hibernation": False,
            "host_id": "",
            "host_resource_group_arn": None,
            "iam_instance_profile": "",
            "id": instance_id,
            "instance_initiated_shutdown_behavior": "stop",
            "instance_lifecycle": "",
            "instance_market_options": [],
            "instance_state": inst["State"]["Name"],
            "instance_type": inst["InstanceType"],
            "ipv6_address_count": 0,
            "ipv6_addresses": [],
            "key_name": inst.get("KeyName", ""),
            "launch_template": [],
            "maintenance_options": [{"auto_recovery": "default"}],
            "metadata_options": [{
                "http_endpoint": "enabled",
                "http_protocol_ipv6": "disabled",
                "http_put_response_hop_limit": 1,
                "http_tokens": "optional",
                "instance_metadata_tags": "disabled",
            }],
            "monitoring": False,
            "network_interface": [],
            "outpost_arn": "",
            "password_data": "",
            "placement_group": "",
            "placement_partition_number": 0,
            "primary_network_interface_id": inst["NetworkInterfaces"][0]["NetworkInterfaceId"],
            "private_dns": inst.get("PrivateDnsName", ""),
            "private_dns_name_options": [{
                "enable_resource_name_dns_a_record": False,
                "enable_resource_name_dns_aaaa_record": False,
                "hostname_type": "ip-name",
            }],
            "private_ip": inst["PrivateIpAddress"],
            "public_dns": inst.get("PublicDnsName", ""),
            "public_ip": inst.get("PublicIpAddress", ""),
            "root_block_device": roots,
            "secondary_private_ips": [],
            "security_groups": [],
            "source_dest_check": True,
            "spot_instance_request_id": "",
            "subnet_id": inst["SubnetId"],
            "tags": tags,
            "tags_all": tags,
            "tenancy": "default",
            "timeouts": None,
            "user_data": None,
            "user_data_base64": None,
            "user_data_replace_on_change": False,
            "volume_tags": None,
            # The emulator lists a VPC instance's groups on its network interface only.
            "vpc_security_group_ids": sorted(
                g["GroupId"] for g in inst.get("SecurityGroups") or inst["NetworkInterfaces"][0].get("Groups", [])
            ),
        }

    def volume(self, volume_id: str) -> dict[str, Any]:
        vol = self.ec2.describe_volumes(VolumeIds=[volume_id])["Volumes"][0]
        tags = _tags(vol.get("Tags"))
        return {
            "arn": f"arn:aws:ec2:{REGION}:{ACCOUNT}:volume/{volume_id}",
            "availability_zone": vol["AvailabilityZone"],
            "encrypted": vol.get("Encrypted", False),
            "final_snapshot": False,
            "id": volume_id,
            "iops": vol.get("Iops", 0),
            "kms_key_id": vol.get("KmsKeyId", ""),
            "multi_attach_enabled": vol.get("MultiAttachEnabled", False),
            "outpost_arn": "",
            "size": vol["Size"],
            "snapshot_id": vol.get("SnapshotId", ""),
            "tags": tags,
            "tags_all": tags,
            "throughput": vol.get("Throughput", 0),
            "timeouts": None,
            "type": vol["VolumeType"],
        }

    def attachment(self, device: str, volume_id: str, instance_id: str) -> dict[str, Any]:
        import zlib

        return {
            "device_name": device,
            "force_detach": None,
            "id": f"vai-{zlib.crc32(f'{device}-{instance_id}-{volume_id}-'.encode())}",
            "instance_id": instance_id,
            "skip_destroy": None,
            "stop_instance_before_detaching": None,
            "timeouts": None,
            "volume_id": volume_id,
        }

    def alarm(self, name: str) -> dict[str, Any]:
        a = self.cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]
        tags = {t["Key"]: t["Value"] for t in self.cloudwatch.list_tags_for_resource(ResourceARN=a["AlarmArn"])["Tags"]}
        return {
            "actions_enabled": a.get("ActionsEnabled", True),
            "alarm_actions": a.get("AlarmActions", []),
            "alarm_description": a.get("AlarmDescription", ""),
            "alarm_name": name,
            "arn": a["AlarmArn"],
            "comparison_operator": a["ComparisonOperator"],
            "datapoints_to_alarm": a.get("DatapointsToAlarm", 0),
            "dimensions": {d["Name"]: d["Value"] for d in a.get("Dimensions", [])},
            "evaluate_low_sample_count_percentiles": a.get("EvaluateLowSampleCountPercentile", ""),
            "evaluation_periods": a["EvaluationPeriods"],
            "extended_statistic": a.get("ExtendedStatistic", ""),
            "id": name,
            "insufficient_data_actions": a.get("InsufficientDataActions", []),
            "metric_name": a.get("MetricName", ""),
            "metric_query": [],
            "namespace": a.get("Namespace", ""),
            "ok_actions": a.get("OKActions", []),
            "period": a.get("Period", 0),
            "statistic": a.get("Statistic", ""),
            "tags": tags,
            "tags_all": tags,
            "threshold": a.get("Threshold", 0),
            "threshold_metric_id": a.get("ThresholdMetricId", ""),
            "treat_missing_data": a.get("TreatMissingData", "missing"),
            "unit": a.get("Unit", ""),
        }

    def zone(self, zone_id: str) -> dict[str, Any]:
        z = self.route53.get_hosted_zone(Id=zone_id)
        tags = {
            t["Key"]: t["Value"]
            for t in self.route53.list_tags_for_resource(ResourceType="hostedzone", ResourceId=zone_id)["ResourceTagSet"].get("Tags", [])
        }
        servers = sorted(z.get("DelegationSet", {}).get("NameServers", []))
        return {
            "arn": f"arn:aws:route53:::hostedzone/{zone_id}",
            "comment": z["HostedZone"].get("Config", {}).get("Comment", ""),
            "delegation_set_id": "",
            "force_destroy": False,
            "id": zone_id,
            "name": z["HostedZone"]["Name"].rstrip("."),
            "name_servers": servers,
            "primary_name_server": servers[0] if servers else "",
            "tags": tags,
            "tags_all": tags,
            "vpc": [{"vpc_id": v["VPCId"], "vpc_region": v["VPCRegion"]} for v in z.get("VPCs", [])],
            "zone_id": zone_id,
        }

    def record(self, zone_id: str, name: str, type_: str) -> dict[str, Any]:
        sets = self.route53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
        rs = next(s for s in sets if s["Name"].rstrip(".") == name and s["Type"] == type_)
        return {
            "alias": [],
            "allow_overwrite": None,
            "cidr_routing_policy": [],
            "failover_routing_policy": [],
            "fqdn": name,
            "geolocation_routing_policy": [],
            "geoproximity_routing_policy": [],
            "health_check_id": "",
            "id": f"{zone_id}_{name}_{type_}",
            "latency_routing_policy": [],
            "multivalue_answer_routing_policy": False,
            "name": name,
            "records": sorted(r["Value"] for r in rs.get("ResourceRecords", [])),
            "set_identifier": "",
            "timeouts": None,
            "ttl": rs.get("TTL", 0),
            "type": type_,
            "weighted_routing_policy": [],
            "zone_id": zone_id,
        }

    def ami(self, image_id: str) -> dict[str, Any]:
        img = self.ec2.describe_images(ImageIds=[image_id])["Images"][0]
        return {
            "architecture": img.get("Architecture", ""),
            "arn": f"arn:aws:ec2:{REGION}::image/{image_id}",
            "block_device_mappings": [],
            "boot_mode": "",
            "creation_date": img.get("CreationDate", ""),
            "deprecation_time": "",
            "description": img.get("Description", ""),
            "ena_support": False,
            "executable_users": None,
            "filter": [{"name": "name", "values": ["ghe-2.17.0-*"]}],
            "hypervisor": img.get("Hypervisor", ""),
            "id": image_id,
            "image_id": image_id,
            "image_location": img.get("ImageLocation", ""),
            "image_owner_alias": "",
            "image_type": img.get("ImageType", "machine"),
            "imds_support": "",
            "include_deprecated": False,
            "kernel_id": img.get("KernelId", ""),
            "most_recent": True,
            "name": img["Name"],
            "name_regex": None,
            "owner_id": img["OwnerId"],
            "owners": ["self"],
            "platform": "",
            "platform_details": img.get("PlatformDetails", ""),
            "product_codes": [],
            "public": img.get("Public", False),
            "ramdisk_id": "",
            "root_device_name": img.get("RootDeviceName", ""),
            "root_device_type": img.get("RootDeviceType", ""),
            "root_snapshot_id": "",
            "sriov_net_support": "",
            "state": img.get("State", ""),
            "state_reason": {"code": "UNSET", "message": "UNSET"},
            "tags": {t["Key"]: t["Value"] for t in img.get("Tags", [])},
            "timeouts": None,
            "tpm_support": "",
            "uefi_data": None,
            "usage_operation": "",
            "virtualization_type": img.get("VirtualizationType", ""),
        }


def _rules(perms: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Security group rules as the provider flattens them: one rule per permission, with every key."""
    out = []
    for p in perms:
        protocol = p.get("IpProtocol", "-1")
        descriptions = {r.get("Description", "") for r in p.get("IpRanges", [])}
        out.append({
            "cidr_blocks": sorted(r["CidrIp"] for r in p.get("IpRanges", [])),
            "description": next(iter(descriptions), ""),
            "from_port": p.get("FromPort", 0) if protocol != "-1" else 0,
            "ipv6_cidr_blocks": sorted(r["CidrIpv6"] for r in p.get("Ipv6Ranges", [])),
            "prefix_list_ids": sorted(r["PrefixListId"] for r in p.get("PrefixListIds", [])),
            "protocol": protocol,
            "security_groups": sorted(g["GroupId"] for g in p.get("UserIdGroupPairs", [])),
            "self": False,
            "to_port": p.get("ToPort", 0) if protocol != "-1" else 0,
        })
    return out
