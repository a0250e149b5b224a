output "tostring" {
  value = [tostring(12), tostring(true), tostring("s"), tostring(1.5)]
}

output "tonumber" {
  value = [tonumber("42"), tonumber("3.5"), tonumber(7)]
}

output "tobool" {
  value = [tobool("true"), tobool(false)]
}

output "tolist" {
  value = tolist(["c", "a", "b"])
}

output "tolist_mixed" {
  value = tolist([1, "two"])
}

output "toset" {
  value = toset(["c", "a", "b", "a"])
}

output "tomap" {
  value = tomap({ a = "1", b = 2 })
}

output "set_to_list" {
  value = tolist(toset(["z", "y", "y"]))
}

output "implicit" {
  value = "5" + 1
}
