variable "servers" {
  default = [
    { name = "web", port = 80, tags = ["a", "b"] },
    { name = "api", port = 8080, tags = ["c"] },
  ]
}

resource "terraform_data" "node" {
  count = 3
  input = { name = "node-${count.index}", rank = count.index * 10 }
}

output "full_splat" {
  value = var.servers[*].name
}

output "legacy_splat" {
  value = var.servers.*.port
}

output "splat_nested" {
  value = var.servers[*].tags
}

output "resource_splat" {
  value = terraform_data.node[*].output.name
}

output "resource_splat_ranks" {
  value = terraform_data.node[*].output.rank
}

output "splat_on_single" {
  value = length("solo"[*])
}
