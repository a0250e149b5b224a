resource "terraform_data" "base" {
  input = {
    name  = "base"
    ports = [80, 443]
  }
}

resource "terraform_data" "derived" {
  input = "${terraform_data.base.output.name}-derived-${terraform_data.base.output.ports[1]}"
}

resource "terraform_data" "list" {
  input = [for p in terraform_data.base.output.ports : p + 1]
}

resource "terraform_data" "final" {
  input = {
    from_derived = terraform_data.derived.output
    sum          = sum(terraform_data.list.output)
  }
}

output "derived" {
  value = terraform_data.derived.output
}

output "list" {
  value = terraform_data.list.output
}

output "final" {
  value = terraform_data.final.output
}

output "input_echo" {
  value = terraform_data.final.input
}
