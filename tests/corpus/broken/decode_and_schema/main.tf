variable "protect" {
  default = true
}

resource "aws_ebs_volume" "data" {
  availability_zone = "us-east-1a"
  size              = 100
  lifecycle {
    prevent_destroy = var.protect
  }
}

resoruce "aws_instance" "node" {
  ami = "ami-1"
}

resource "aws_ebs_volume" "data" {
  availability_zone = "us-east-1b"
  size              = 10
}

resource "aws_cloudwatch_metric_alarm" "cpu" {
  alarm_name          = "cpu"
  comparison_operator = "GreaterThanThreshold"
  evaluation_periods  = 2
  metric_name         = "CPUUtilization"
  namespace           = "AWS/EC2"
  period              = 300
  statistic           = "Average"
  threshhold          = 80
}

resource "aws_route53_zone" "internal" {
  name = "internal"
  vpcs {
    vpc_id = "vpc-1"
  }
}
