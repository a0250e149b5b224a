output "instance_id" {
  value = aws_instance.ghe_node.id
}

output "private_ip" {
  value = aws_instance.ghe_node.private_ip
}

output "data_volume_id" {
  value = aws_ebs_volume.ghe_data.id
}

output "dns_name" {
  value = aws_route53_record.ghe.fqdn
}
