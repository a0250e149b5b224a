# The single-node stack of ../github-enterprise kept everything in the root module. These
# blocks move its objects to their addresses here, so switching over is a plan with nothing to
# create or destroy. They can stay: a move whose source is gone does nothing.

moved {
  from = aws_vpc.main
  to   = module.network.aws_vpc.main
}

moved {
  from = aws_subnet.private
  to   = module.network.aws_subnet.private
}

moved {
  from = aws_security_group.ghe
  to   = module.network.aws_security_group.ghe
}

moved {
  from = aws_route53_zone.internal
  to   = module.network.aws_route53_zone.internal
}

moved {
  from = aws_instance.ghe_node
  to   = module.ghe["primary"].aws_instance.node
}

moved {
  from = aws_ebs_volume.ghe_data
  to   = module.ghe["primary"].aws_ebs_volume.data
}

moved {
  from = aws_volume_attachment.ghe_data
  to   = module.ghe["primary"].aws_volume_attachment.data
}

moved {
  from = aws_cloudwatch_metric_alarm.ghe_status_check
  to   = module.ghe["primary"].aws_cloudwatch_metric_alarm.status_check
}

moved {
  from = aws_cloudwatch_metric_alarm.ghe_cpu_high
  to   = module.ghe["primary"].aws_cloudwatch_metric_alarm.cpu_high
}

moved {
  from = aws_route53_record.ghe
  to   = module.ghe["primary"].aws_route53_record.node
}
