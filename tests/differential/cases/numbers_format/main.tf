output "numbers" {
  value = {
    int        = 42
    negative   = -17
    float      = 1.5
    exponent   = 1.5e3
    small      = 0.000123
    third      = 1 / 3
    large      = 123456789012345678
    huge       = 1e21
    neg_zero   = -0
    int_div    = 6 / 2
    float_int  = 2.0
    pow_like   = 1024 * 1024 * 1024 * 1024
  }
}

output "as_strings" {
  value = [
    "${1 / 3}",
    "${1.5e3}",
    "${2.0}",
    "${123456789012345678}",
    "${1e21}",
    tostring(0.1 + 0.2),
  ]
}
