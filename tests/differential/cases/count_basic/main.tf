variable "names" {
  default = ["x", "y", "z"]
}

resource "terraform_data" "item" {
  count = length(var.names)
  input = "${var.names[count.index]}-${count.index}"
}

resource "terraform_data" "none" {
  count = 0
  input = "never"
}

resource "terraform_data" "cond" {
  count = length(var.names) > 2 ? 1 : 0
  input = "created"
}

output "all" {
  value = terraform_data.item[*].output
}

output "second" {
  value = terraform_data.item[1].output
}

output "none_count" {
  value = length(terraform_data.none)
}

output "cond" {
  value = terraform_data.cond[0].output
}

output "for_over_resources" {
  value = [for r in terraform_data.item : upper(r.output)]
}
