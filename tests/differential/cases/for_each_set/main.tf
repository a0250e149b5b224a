variable "regions" {
  default = ["us-east", "eu-west", "ap-south", "us-east"]
}

resource "terraform_data" "region" {
  for_each = toset(var.regions)
  input    = "${each.key}|${each.value}"
}

output "values" {
  value = [for r in terraform_data.region : r.output]
}

output "count" {
  value = length(terraform_data.region)
}

output "lookup" {
  value = terraform_data.region["eu-west"].output
}
