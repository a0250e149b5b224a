output "instance_id" {
  value = aws_instance.node.id
}

output "private_ip" {
  value = aws_instance.node.private_ip
}

output "data_volume_id" {
  value = aws_ebs_volume.data.id
}

output "dns_name" {
  value = aws_route53_record.node.fqdn
}
