variable "config" {
  default = {
    name = "svc"
    port = "8080"
  }
}

output "try_present" {
  value = try(var.config.name, "default")
}

output "try_missing" {
  value = try(var.config.missing, "default")
}

output "try_chain" {
  value = try(var.config.nope, var.config.also_nope, tonumber(var.config.port))
}

output "try_bad_conversion" {
  value = try(tonumber("abc"), -1)
}

output "can" {
  value = {
    present    = can(var.config.name)
    missing    = can(var.config.missing)
    bad_number = can(tonumber("x"))
    good_index = can(["a"][0])
    bad_index  = can(["a"][3])
  }
}
