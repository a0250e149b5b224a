# A stateful single node (GitHub Enterprise) that a dead instance cannot hurt:
# the node is disposable and always comes back the same way (same image, same
# private IP, same data volume, same alarms, same DNS name); the data lives on
# a separate volume that is snapshotted before relight ever destroys it.
#
# Runs unchanged on the local cloud (`relight local-cloud`) and on real AWS.

terraform {
  backend "local" {
    path = "relight.tfstate"
  }
}

provider "aws" {
  region = var.region
}

# The image: the newest ghe-<ghe_version>-* image (Packer or `relight image build
# ../ghe-image` bakes them; the local cloud ships ghe-2.16.0 and ghe-2.17.0). With
# image_channel set, only an image promoted to that channel qualifies
# (`relight image promote ID --channel production` tags it). Bumping ghe_version
# rolls the node onto the new image.
data "aws_ami" "ghe" {
  most_recent = true
  owners      = ["self"]

  filter {
    name   = "name"
    values = ["ghe-${var.ghe_version}-*"]
  }

  dynamic "filter" {
    for_each = var.image_channel == null ? [] : [var.image_channel]
    content {
      name   = "tag:relight:channel:${filter.value}"
      values = ["true"]
    }
  }
}

resource "aws_vpc" "main" {
  cidr_block           = "10.0.0.0/16"
  enable_dns_hostnames = true
  tags                 = merge(local.tags, { Name = "ghe" })
}

resource "aws_subnet" "private" {
  vpc_id            = aws_vpc.main.id
  cidr_block        = "10.0.1.0/24"
  availability_zone = var.availability_zone
  tags              = merge(local.tags, { Name = "ghe-private" })
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

  tags = local.tags
}

# The node: disposable. Its private IP is fixed, so DNS and clients never change.
resource "aws_instance" "ghe_node" {
  ami                    = data.aws_ami.ghe.id
  instance_type          = var.instance_type
  subnet_id              = aws_subnet.private.id
  private_ip             = var.private_ip
  vpc_security_group_ids = [aws_security_group.ghe.id]
  tags                   = merge(local.tags, { Name = "github-enterprise" })
}

# The data: durable. Kept apart from the node, so a terminated instance does not
# touch it. Set snapshot_id to restore from an older snapshot; relight snapshots
# the current volume before it replaces it (final_snapshot defaults to true).
resource "aws_ebs_volume" "ghe_data" {
  availability_zone = var.availability_zone
  size              = var.data_volume_size
  type              = "gp3"
  snapshot_id       = var.snapshot_id
  tags              = merge(local.tags, { Name = "github-enterprise-data" })
}

resource "aws_volume_attachment" "ghe_data" {
  device_name = "/dev/xvdf"
  volume_id   = aws_ebs_volume.ghe_data.id
  instance_id = aws_instance.ghe_node.id
}

resource "aws_cloudwatch_metric_alarm" "ghe_status_check" {
  alarm_name          = "ghe-status-check-failed"
  alarm_description   = "The GitHub Enterprise node fails its EC2 status checks"
  namespace           = "AWS/EC2"
  metric_name         = "StatusCheckFailed"
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 2
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  dimensions          = { InstanceId = aws_instance.ghe_node.id }
  alarm_actions       = var.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "ghe_cpu_high" {
  alarm_name          = "ghe-cpu-high"
  alarm_description   = "The GitHub Enterprise node runs hot"
  namespace           = "AWS/EC2"
  metric_name         = "CPUUtilization"
  statistic           = "Average"
  period              = 300
  evaluation_periods  = 3
  threshold           = 85
  comparison_operator = "GreaterThanThreshold"
  dimensions          = { InstanceId = aws_instance.ghe_node.id }
  alarm_actions       = var.alarm_actions
}

resource "aws_route53_zone" "internal" {
  name = var.internal_domain

  vpc {
    vpc_id = aws_vpc.main.id
  }
}

# The name people use. It points at the fixed IP, so it never changes.
resource "aws_route53_record" "ghe" {
  zone_id = aws_route53_zone.internal.zone_id
  name    = "ghe.${var.internal_domain}"
  type    = "A"
  ttl     = 300
  records = [aws_instance.ghe_node.private_ip]
}

locals {
  tags = { Service = "github-enterprise", ManagedBy = "relight" }
  ghe_ports = {
    https     = 443
    git-ssh   = 22
    admin-ssh = 122
    console   = 8443
  }
}
