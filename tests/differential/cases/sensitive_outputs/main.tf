variable "password" {
  default   = "hunter2"
  sensitive = true
}

resource "terraform_data" "secret" {
  input = sensitive("s3cret-value")
}

output "password" {
  value     = var.password
  sensitive = true
}

output "derived_sensitive" {
  value     = "pw-length-${length(var.password)}"
  sensitive = true
}

output "secret_resource" {
  value     = terraform_data.secret.output
  sensitive = true
}

output "nonsensitive_unwrapped" {
  value = nonsensitive(upper(var.password))
}

output "plain" {
  value = "visible"
}
