variable "csv" {
  default = "red,green,,blue"
}

output "join_split" {
  value = {
    split  = split(",", var.csv)
    join   = join("-", ["a", "b", "c"])
    empty  = join(",", [])
    roundt = join("|", split(",", var.csv))
  }
}

output "format" {
  value = [
    format("%s has %d items", "cart", 3),
    format("%05.2f", 3.14159),
    format("%q", "quoted"),
    format("%-6s|", "ab"),
    format("%x %o %b", 255, 8, 5),
    format("%v and %v", true, 1.5),
    format("100%%"),
  ]
}

output "formatlist" {
  value = formatlist("%s=%d", ["a", "b"], [1, 2])
}

output "case" {
  value = [lower("MiXeD"), upper("MiXeD"), title("hello big world")]
}

output "trimspace" {
  value = "[${trimspace("  \t padded \n ")}]"
}

output "replace" {
  value = [
    replace("a-b-c", "-", "+"),
    replace("hello world", "/o(.)/", "0$1"),
    replace("aaa", "a", ""),
  ]
}

output "substr" {
  value = [substr("hello world", 0, 5), substr("hello world", 6, -1), substr("héllo", 1, 3)]
}
