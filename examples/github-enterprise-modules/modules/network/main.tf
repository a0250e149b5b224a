# The network the GitHub Enterprise nodes live in: a VPC, one private subnet, the security
# group of the ports GitHub Enterprise serves, and the private DNS zone their names live in.

variable "availability_zone" {
  type = string
}

variable "internal_domain" {
  type = string
}

variable "tags" {
  type    = map(string)
  default = {}
}

resource "aws_vpc" "main" {
  cidr_block           = "10.0.0.0/16"
  enable_dns_hostnames = true
  tags                 = merge(var.tags, { Name = "ghe" })
}

resource "aws_subnet" "private" {
  vpc_id            = aws_vpc.main.id
  cidr_block        = cidrsubnet(aws_vpc.main.cidr_block, 8, 1)
  availability_zone = var.availability_zone
  tags              = merge(var.tags, { Name = "ghe-private" })
}

resource "aws_security_group" "ghe" {
  name        = "ghe"
  description = "GitHub Enterprise: web, git and admin from inside the VPC"
  vpc_id      = aws_vpc.main.id

  dynamic "ingress" {
    for_each = local.ghe_ports
    content {
      description = ingress.key
      from_port   = ingress.value
      to_port     = ingress.value
      protocol    = "tcp"
      cidr_blocks = [aws_vpc.main.cidr_block]
    }
  }

  egress {
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }

  tags = var.tags
}

resource "aws_route53_zone" "internal" {
  name = var.internal_domain

  vpc {
    vpc_id = aws_vpc.main.id
  }
}

locals {
  ghe_ports = {
    https     = 443
    git-ssh   = 22
    admin-ssh = 122
    console   = 8443
  }
}

output "subnet_id" {
  value = aws_subnet.private.id
}

output "subnet_cidr" {
  value = aws_subnet.private.cidr_block
}

output "security_group_id" {
  value = aws_security_group.ghe.id
}

output "zone_id" {
  value = aws_route53_zone.internal.zone_id
}
