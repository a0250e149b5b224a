variable "env" {
  default = "prod"
}

variable "size" {
  default = 5
}

output "simple" {
  value = var.env == "prod" ? "big" : "small"
}

output "nested" {
  value = var.size > 10 ? "large" : var.size > 3 ? "medium" : "small"
}

output "number_result" {
  value = var.env == "dev" ? 1 : 100
}

output "unify_number_string" {
  value = var.size > 1 ? var.size : "none"
}

output "null_branch" {
  value = var.env == "prod" ? null : "dev-only"
}

output "list_result" {
  value = var.env == "prod" ? ["a", "b"] : []
}

output "in_interpolation" {
  value = "env is ${var.env == "prod" ? "production" : "other"}"
}
