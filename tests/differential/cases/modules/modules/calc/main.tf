variable "numbers" {
  type = list(number)
}

variable "scale" {
  type     = number
  default  = 2
  nullable = false
}

locals {
  total = sum(var.numbers)
}

output "total" {
  value = local.total
}

output "doubled" {
  value = [for n in var.numbers : n * var.scale]
}

output "secret" {
  value     = sensitive("s-${local.total}")
  sensitive = true
}
