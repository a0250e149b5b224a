resource "terraform_data" "string" {
  input = "text"
}

resource "terraform_data" "number" {
  input = 42
}

resource "terraform_data" "float" {
  input = 3.25
}

resource "terraform_data" "bool" {
  input = false
}

resource "terraform_data" "list" {
  input = ["a", "b", "c"]
}

resource "terraform_data" "mixed_tuple" {
  input = ["a", 1, true]
}

resource "terraform_data" "object" {
  input = {
    name   = "obj"
    count  = 2
    nested = { deep = [1, 2, { x = "y" }] }
  }
}

resource "terraform_data" "empty" {
  input = {}
}

output "string" {
  value = terraform_data.string.output
}

output "number" {
  value = terraform_data.number.output
}

output "float" {
  value = terraform_data.float.output
}

output "bool" {
  value = terraform_data.bool.output
}

output "list" {
  value = terraform_data.list.output
}

output "mixed_tuple" {
  value = terraform_data.mixed_tuple.output
}

output "object" {
  value = terraform_data.object.output
}

output "object_field" {
  value = terraform_data.object.output.nested.deep[2].x
}

output "empty" {
  value = terraform_data.empty.output
}
