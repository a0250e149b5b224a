variable "vpc_cidr" {
  default = "10.0.0.0/16"
}

output "subnets" {
  value = [for i in range(3) : cidrsubnet(var.vpc_cidr, 8, i)]
}

output "subnet_big_newbits" {
  value = cidrsubnet("172.16.0.0/12", 4, 15)
}

output "hosts" {
  value = [cidrhost("10.0.1.0/24", 5), cidrhost("10.0.1.0/24", -2), cidrhost(var.vpc_cidr, 258)]
}

output "ipv6" {
  value = cidrsubnet("fd00:fd12:3456:7890::/56", 8, 3)
}
