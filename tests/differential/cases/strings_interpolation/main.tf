variable "name" {
  default = "world"
}

variable "n" {
  default = 3
}

locals {
  greeting = "hello, ${var.name}!"
  nested   = "outer-${"inner-${upper(var.name)}"}"
}

output "greeting" {
  value = local.greeting
}

output "nested" {
  value = local.nested
}

output "number_in_string" {
  value = "n=${var.n}, n+0.5=${var.n + 0.5}, big=${1000000 * 1000}"
}

output "bool_in_string" {
  value = "flag=${var.n > 2}"
}

output "escapes" {
  value = "tab:\t quote:\" backslash:\\ newline:\n unicode:\u00e9 literal:$${var.name} %%{x}"
}

output "only_interp" {
  value = "${var.n}"
}

output "concat_with_plus_free" {
  value = "${var.name}${var.name}-${var.n * 2}"
}

output "unicode" {
  value = "héllo ✓ 日本"
}
