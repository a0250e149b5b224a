variable "maybe" {
  type    = string
  default = null
}

locals {
  obj = {
    a = 1
    b = null
  }
}

resource "terraform_data" "null_input" {
  input = null
}

output "null_output" {
  value = null
}

output "object_with_null" {
  value = local.obj
}

output "is_null" {
  value = [var.maybe == null, local.obj.b == null, local.obj.a == null]
}

output "coalesce_null" {
  value = coalesce(var.maybe, "fallback")
}

output "list_with_null" {
  value = ["a", null, "c"]
}

output "resource_null_output" {
  value = terraform_data.null_input.output == null
}

output "conditional_null" {
  value = var.maybe != null ? var.maybe : "was-null"
}
