variable "names" {
  default = ["alice", "bob", "carol"]
}

variable "enabled" {
  default = true
}

output "if_else" {
  value = "state: %{if var.enabled}on%{else}off%{endif}"
}

output "if_only" {
  value = "x%{if !var.enabled} hidden%{endif}y"
}

output "for_loop" {
  value = "%{for n in var.names}[${n}]%{endfor}"
}

output "for_index" {
  value = "%{for i, n in var.names}${i}=${n};%{endfor}"
}

output "for_with_if" {
  value = "%{for n in var.names}%{if n != "bob"}${n} %{endif}%{endfor}"
}

output "strip_markers" {
  value = "a %{~if var.enabled~} b %{~endif~} c"
}

output "for_over_map" {
  value = "%{for k, v in { x = 1, y = 2 }}${k}:${v},%{endfor}"
}
