variable "sizes" {
  default = {
    small  = 1
    medium = 4
    large  = 16
  }
}

resource "terraform_data" "vm" {
  for_each = var.sizes
  input = {
    name  = "vm-${each.key}"
    cores = each.value
  }
}

resource "terraform_data" "disk" {
  for_each = terraform_data.vm
  input    = "${each.value.output.name}-disk-${each.value.output.cores * 10}"
}

output "vm_names" {
  value = { for k, v in terraform_data.vm : k => v.output.name }
}

output "disks" {
  value = { for k, d in terraform_data.disk : k => d.output }
}

output "one" {
  value = terraform_data.vm["medium"].output.cores
}

output "keys" {
  value = keys(terraform_data.vm)
}
