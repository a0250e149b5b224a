variable "words" {
  default = ["apple", "banana", "cherry", "date"]
}

variable "scores" {
  default = {
    alice = 90
    bob   = 72
    carol = 85
  }
}

output "upper" {
  value = [for w in var.words : upper(w)]
}

output "with_index" {
  value = [for i, w in var.words : "${i}:${w}"]
}

output "filtered" {
  value = [for w in var.words : w if length(w) > 5]
}

output "from_map" {
  value = [for name, score in var.scores : "${name}=${score}"]
}

output "map_values_filtered" {
  value = [for name, score in var.scores : name if score >= 85]
}

output "nested" {
  value = [for x in [1, 2, 3] : [for y in [10, 20] : x * y]]
}

output "numbers" {
  value = [for n in range(5) : n * n]
}
