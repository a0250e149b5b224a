resource "terraform_data" "first" {
  input = "first"
}

resource "terraform_data" "second" {
  input      = "second"
  depends_on = [terraform_data.first]
}

locals {
  combined = "${terraform_data.first.output}+${terraform_data.second.output}"
}

resource "terraform_data" "third" {
  input      = local.combined
  depends_on = [terraform_data.second]
}

output "third" {
  value = terraform_data.third.output
}

output "depends_on_output" {
  value      = "static"
  depends_on = [terraform_data.third]
}
