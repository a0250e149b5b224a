variable "nums" {
  default = [3, -7, 12.5, 0]
}

output "range" {
  value = {
    one   = range(4)
    two   = range(2, 6)
    step  = range(10, 0, -3)
    float = range(0, 1, 0.25)
  }
}

output "min_max" {
  value = [min(3, 1, 2), max(3, 1, 2), min(var.nums...), max(var.nums...)]
}

output "abs" {
  value = [abs(-5), abs(3.5), abs(0)]
}

output "ceil_floor" {
  value = [ceil(1.2), ceil(-1.2), floor(1.8), floor(-1.8), ceil(5)]
}

output "sum" {
  value = sum([1, 2, 3.5])
}
