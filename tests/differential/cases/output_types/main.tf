variable "typed_list" {
  type    = list(string)
  default = ["a", "b"]
}

variable "typed_map" {
  type    = map(number)
  default = { x = 1, y = 2 }
}

output "tuple" {
  value = ["a", 1, false]
}

output "list" {
  value = var.typed_list
}

output "object" {
  value = { name = "x", n = 1 }
}

output "map" {
  value = var.typed_map
}

output "set" {
  value = toset([3, 1, 2])
}

output "empty_tuple" {
  value = []
}

output "empty_object" {
  value = {}
}

output "nested_collection" {
  value = { for k, v in var.typed_map : k => [v, v * 2] }
}
