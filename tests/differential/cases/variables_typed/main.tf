variable "count_str" {
  type    = number
  default = "3"
}

variable "ports" {
  type    = list(number)
  default = ["80", 443]
}

variable "labels" {
  type    = map(string)
  default = { a = 1, b = true }
}

variable "server" {
  type = object({
    name = string
    size = optional(number, 2)
    tags = optional(list(string), [])
  })
  default = { name = "web" }
}

variable "unique" {
  type    = set(string)
  default = ["b", "a", "b"]
}

variable "anything" {
  default = { x = [1, "y"] }
}

variable "nullable_default" {
  type    = string
  default = null
}

output "count_str" {
  value = var.count_str + 1
}

output "ports" {
  value = var.ports
}

output "labels" {
  value = var.labels
}

output "server" {
  value = var.server
}

output "unique" {
  value = var.unique
}

output "anything" {
  value = var.anything
}

output "null_default_is_null" {
  value = var.nullable_default == null
}
