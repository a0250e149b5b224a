# Mistakes only evaluation finds, next to ones the static checks find: all in one round.
variable "env" {
  type = string
}

variable "azs" {
  type    = list(string)
  default = ["us-east-1a", "us-east-1b"]
}

locals {
  port   = tonumber("eighty")
  subnet = cidrsubnet("10.0.0.0/16", 8, 300)
  name   = "ghe-${var.env}"
}

resource "aws_vpc" "main" {
  cidr_block = local.subnet
  tags       = { Name = local.name }
}

resource "terraform_data" "per_az" {
  count = length(var.azs)
  input = "${var.azs[count.index]}-${each.key}"
}

resource "terraform_data" "none" {
  count = 0
  input = element([], 0)
}

output "port" {
  value = local.port + 1
}

output "upper" {
  value = upper(["not", "a", "string"])
}
