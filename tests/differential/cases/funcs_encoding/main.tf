locals {
  data = {
    name    = "svc"
    port    = 8080
    enabled = true
    tags    = ["a", "b"]
    nested  = { ratio = 0.5, none = null }
  }
}

output "jsonencode" {
  value = jsonencode(local.data)
}

output "jsonencode_scalars" {
  value = [jsonencode("s<>&"), jsonencode(1), jsonencode(null), jsonencode([])]
}

output "jsondecode" {
  value = jsondecode("{\"b\": [1, 2.5, \"x\"], \"a\": {\"t\": true, \"n\": null}}")
}

output "json_roundtrip" {
  value = jsondecode(jsonencode(local.data)).nested.ratio
}

output "yamlencode" {
  value = yamlencode(local.data)
}

output "yamlencode_list" {
  value = yamlencode(["x", 1, "multi\nline"])
}

output "base64" {
  value = {
    enc = base64encode("hello, world ✓")
    dec = base64decode("aGVsbG8=")
  }
}
