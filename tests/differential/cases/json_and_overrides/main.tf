variable "names" {
  type    = list(string)
  default = ["a", "b"]
}

variable "size" {
  type    = number
  default = 1
}

locals {
  prefix = "base"
  kept   = "kept"
}

resource "terraform_data" "node" {
  count = 2
  input = "${local.prefix}-${count.index}"
}

output "from_hcl" {
  value = [for n in terraform_data.node : n.output]
}

output "size" {
  value = var.size
}
