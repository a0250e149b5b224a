variable "prefix" {
  default = "app"
}

locals {
  env       = "staging"
  name      = "${var.prefix}-${local.env}"
  full_name = "${local.name}-${local.suffix}"
  suffix    = "v${local.version}"
  version   = 2
  settings = {
    name     = local.full_name
    replicas = local.version * 3
  }
}

resource "terraform_data" "app" {
  input = local.settings
}

locals {
  from_resource = "${terraform_data.app.output.name}:${terraform_data.app.output.replicas}"
}

output "full_name" {
  value = local.full_name
}

output "settings" {
  value = local.settings
}

output "from_resource" {
  value = local.from_resource
}
