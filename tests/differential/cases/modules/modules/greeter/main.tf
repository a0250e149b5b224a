variable "name" {
  type = string
}

resource "terraform_data" "g" {
  input = "hello ${var.name}"
}

output "greeting" {
  value = terraform_data.g.output
}

output "module_dir" {
  value = basename(path.module)
}
