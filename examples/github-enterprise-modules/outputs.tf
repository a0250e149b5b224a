output "instance_ids" {
  value = { for name, node in module.ghe : name => node.instance_id }
}

output "private_ips" {
  value = { for name, node in module.ghe : name => node.private_ip }
}

output "data_volume_ids" {
  value = { for name, node in module.ghe : name => node.data_volume_id }
}

output "dns_names" {
  value = { for name, node in module.ghe : name => node.dns_name }
}
