# Module calls: one, count, for_each, nested, a module of values only, depends_on on a module,
# inputs converted to the child's types, outputs used whole and by attribute.

module "single" {
  source = "./modules/greeter"
  name   = "world"
}

module "counted" {
  source = "./modules/greeter"
  count  = 2
  name   = "n${count.index}"
}

module "each" {
  source   = "./modules/greeter"
  for_each = { a = "x", b = "y" }
  name     = "${each.key}-${each.value}"
}

module "nested" {
  source = "./modules/outer"
  prefix = "p"
}

module "calc" {
  source  = "./modules/calc"
  numbers = ["1", 2, 3.5]
}

module "after" {
  source     = "./modules/greeter"
  name       = module.calc.total
  depends_on = [module.single]
}

resource "terraform_data" "uses" {
  input = [module.single.greeting, module.nested.inner]
}

output "single" {
  value = module.single.greeting
}

output "counted" {
  value = module.counted[*].greeting
}

output "counted_index" {
  value = module.counted[1].greeting
}

output "each" {
  value = { for k, m in module.each : k => m.greeting }
}

output "each_keys" {
  value = keys(module.each)
}

output "nested" {
  value = module.nested.inner
}

output "calc" {
  value = module.calc
  sensitive = true
}

output "total" {
  value = module.calc.total
}

output "after" {
  value = module.after.greeting
}

output "module_dir" {
  value = module.single.module_dir
}

output "root_uses" {
  value = terraform_data.uses.output
}
