# Import blocks (one with for_each), conditions that hold, and a check block whose assertion
# fails (a warning only): the outputs must be Terraform's, values, types and sensitivity.
variable "names" {
  type    = set(string)
  default = ["a", "b"]
}

locals {
  ids = { for n in var.names : n => "imported-${n}" }
}

import {
  for_each = local.ids
  to       = terraform_data.node[each.key]
  id       = each.value
}

import {
  to = terraform_data.single
  id = "single-1"
}

resource "terraform_data" "node" {
  for_each = local.ids
  input    = { name = each.key, size = length(each.key) }

  lifecycle {
    precondition {
      condition     = length(each.key) == 1
      error_message = "Node names are one letter."
    }
    postcondition {
      condition     = self.output.name == each.key
      error_message = "The output did not follow the input."
    }
  }
}

resource "terraform_data" "single" {
  input = [for k in sort(keys(local.ids)) : terraform_data.node[k].id]
}

check "sizes" {
  assert {
    condition     = alltrue([for n in terraform_data.node : n.output.size > 5])
    error_message = "The nodes are small."
  }
}

output "node_ids" {
  value = { for k, n in terraform_data.node : k => n.id }
}

output "single" {
  value = terraform_data.single.output
  precondition {
    condition     = length(terraform_data.single.output) == 2
    error_message = "Two nodes expected."
  }
}

output "single_id" {
  value     = terraform_data.single.id
  sensitive = true
}

output "node_a" {
  value = terraform_data.node["a"].output
}
