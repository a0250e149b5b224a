# One GitHub Enterprise node: disposable, with a fixed private IP, a durable data volume kept
# apart from it, status and CPU alarms that follow it, and a DNS name that never changes.

locals {
  primary = var.name == "primary"
  label   = local.primary ? "github-enterprise" : "github-enterprise-${var.name}"
  alarms  = local.primary ? "ghe" : "ghe-${var.name}"
  host    = local.primary ? "ghe" : "ghe-${var.name}"
}

# The image is baked elsewhere (Packer on a real account; the local cloud ships ghe-* images).
# Bumping ghe_version rolls the node onto the new image.
data "aws_ami" "ghe" {
  most_recent = true
  owners      = ["self"]

  filter {
    name   = "name"
    values = ["ghe-${var.ghe_version}-*"]
  }
}

resource "aws_instance" "node" {
  ami                    = data.aws_ami.ghe.id
  instance_type          = var.instance_type
  subnet_id              = var.subnet_id
  private_ip             = var.private_ip
  vpc_security_group_ids = [var.security_group_id]
  tags                   = merge(var.tags, { Name = local.label })
}

# The data: durable. Set snapshot_id to restore from an older snapshot; relight snapshots the
# current volume before it replaces it (final_snapshot defaults to true).
resource "aws_ebs_volume" "data" {
  availability_zone = var.availability_zone
  size              = var.data_volume_size
  type              = "gp3"
  snapshot_id       = var.snapshot_id
  tags              = merge(var.tags, { Name = "${local.label}-data" })
}

resource "aws_volume_attachment" "data" {
  device_name = "/dev/xvdf"
  volume_id   = aws_ebs_volume.data.id
  instance_id = aws_instance.node.id
}

resource "aws_cloudwatch_metric_alarm" "status_check" {
  alarm_name          = "${local.alarms}-status-check-failed"
  alarm_description   = "The GitHub Enterprise node fails its EC2 status checks"
  namespace           = "AWS/EC2"
  metric_name         = "StatusCheckFailed"
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 2
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  dimensions          = { InstanceId = aws_instance.node.id }
  alarm_actions       = var.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "cpu_high" {
  alarm_name          = "${local.alarms}-cpu-high"
  alarm_description   = "The GitHub Enterprise node runs hot"
  namespace           = "AWS/EC2"
  metric_name         = "CPUUtilization"
  statistic           = "Average"
  period              = 300
  evaluation_periods  = 3
  threshold           = 85
  comparison_operator = "GreaterThanThreshold"
  dimensions          = { InstanceId = aws_instance.node.id }
  alarm_actions       = var.alarm_actions
}

# The name people use. It points at the fixed IP, so it never changes.
resource "aws_route53_record" "node" {
  zone_id = var.zone_id
  name    = "${local.host}.${var.domain}"
  type    = "A"
  ttl     = 300
  records = [aws_instance.node.private_ip]
}
