variable "who" {
  default = "ops"
}

variable "items" {
  default = ["one", "two"]
}

output "plain" {
  value = <<EOT
hello ${var.who}
  indented line
last line
EOT
}

output "indented" {
  value = <<-EOT
    first
      second (two more spaces)
    third ${upper(var.who)}
    EOT
}

output "with_directives" {
  value = <<-EOT
    %{~for item in var.items}
    - ${item}
    %{~endfor}
    done
  EOT
}

output "quotes_inside" {
  value = <<EOT
say "hi" and $${literal}
EOT
}

output "json_like" {
  value = <<-JSON
    {"who": "${var.who}", "n": ${length(var.items)}}
  JSON
}
