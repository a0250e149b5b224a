variable "prefix" {
  type    = string
  default = "unused"
}

variable "suffix" {
  type    = string
  default = "s"
}

module "inner" {
  source = "../greeter"
  name   = "${var.prefix}-inner-${var.suffix}"
}

locals {
  shout = upper(module.inner.greeting)
}

output "inner" {
  value = local.shout
}
