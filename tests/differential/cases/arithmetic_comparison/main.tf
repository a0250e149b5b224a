variable "a" {
  default = 7
}

variable "b" {
  default = 2
}

output "add" {
  value = var.a + var.b
}

output "sub" {
  value = var.b - var.a
}

output "mul" {
  value = var.a * var.b
}

output "div" {
  value = var.a / var.b
}

output "div_repeating" {
  value = 10 / 3
}

output "mod" {
  value = var.a % var.b
}

output "mod_negative" {
  value = -7 % 3
}

output "precedence" {
  value = 1 + 2 * 3 - 4 / 2
}

output "parens" {
  value = (1 + 2) * 3
}

output "float_sum" {
  value = 0.1 + 0.2
}

output "unary" {
  value = -var.a
}

output "big" {
  value = 9007199254740993
}

output "comparisons" {
  value = {
    lt  = var.a < var.b
    le  = var.a <= 7
    gt  = var.a > var.b
    ge  = var.b >= 3
    eq  = var.a == 7
    ne  = var.a != 7
    seq = "x" == "x"
    leq = [1, 2] == [1, 2]
  }
}

output "logic" {
  value = {
    and = true && false
    or  = true || false
    not = !true
    mix = !false && var.a >= 3 || false
  }
}
