locals {
  prefix = "overridden"
}

output "size" {
  value = var.size * 10
}
