output "sha256" {
  value = [sha256(""), sha256("hello"), sha256("héllo ✓")]
}

output "md5" {
  value = [md5(""), md5("hello")]
}

output "in_interpolation" {
  value = "id-${substr(sha256("relight"), 0, 8)}"
}
