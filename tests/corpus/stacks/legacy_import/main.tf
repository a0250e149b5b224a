# 0.11-era syntax (quoted interpolations, block-style maps, string counts) and an import block
# adopting a VPC made by hand before the stack existed.
variable "vpc_id" {}

variable "zones" {
  default = "us-east-1a,us-east-1b"
}

variable "subnet_count" {
  default = "2"
}

import {
  to = aws_vpc.legacy
  id = var.vpc_id
}

resource "aws_vpc" "legacy" {
  cidr_block = "10.30.0.0/16"
  tags {
    Name = "legacy"
  }
}

resource "aws_subnet" "legacy" {
  count             = "${var.subnet_count}"
  vpc_id            = "${aws_vpc.legacy.id}"
  cidr_block        = "${cidrsubnet(aws_vpc.legacy.cidr_block, 8, count.index)}"
  availability_zone = "${element(split(",", var.zones), count.index)}"
  tags {
    Name = "legacy-${count.index}"
  }
}

output "subnets" {
  value = "${join(",", aws_subnet.legacy.*.id)}"
}
