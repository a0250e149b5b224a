variable "people" {
  default = [
    { name = "alice", team = "red", age = 31 },
    { name = "bob", team = "blue", age = 25 },
    { name = "carol", team = "red", age = 40 },
    { name = "dave", team = "green", age = 22 },
  ]
}

output "by_name" {
  value = { for p in var.people : p.name => p.age }
}

output "filtered" {
  value = { for p in var.people : p.name => p.team if p.age > 24 }
}

output "grouped" {
  value = { for p in var.people : p.team => p.name... }
}

output "from_map" {
  value = { for k, v in { a = 1, b = 2 } : upper(k) => v * 10 }
}

output "index_keys" {
  value = { for i, p in var.people : tostring(i) => p.name }
}
