variable "m1" {
  default = { a = 1, b = 2 }
}

variable "m2" {
  default = { b = 20, c = 30 }
}

variable "l" {
  default = ["x", "y", "x", "", "z"]
}

output "length" {
  value = [length(var.l), length(var.m1), length("héllo")]
}

output "lookup" {
  value = [lookup(var.m1, "a", 0), lookup(var.m1, "missing", -1)]
}

output "merge" {
  value = merge(var.m1, var.m2, { d = 4 })
}

output "concat" {
  value = concat(["a"], ["b", "c"], [])
}

output "keys_values" {
  value = { keys = keys(var.m2), values = values(var.m2) }
}

output "element" {
  value = [element(var.l, 1), element(var.l, 7)]
}

output "distinct" {
  value = distinct(var.l)
}

output "compact" {
  value = compact(var.l)
}

output "coalesce" {
  value = [coalesce("", "first", "second"), coalesce(null, 5)]
}

output "contains" {
  value = [contains(var.l, "y"), contains(var.l, "q")]
}

output "flatten" {
  value = flatten([["a", ["b"]], [], ["c", ["d", ["e"]]]])
}

output "zipmap" {
  value = zipmap(["k1", "k2", "k3"], [1, 2, 3])
}

output "index_access" {
  value = [var.l[0], var.m1["b"], var.m1.a]
}
