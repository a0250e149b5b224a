# A small configuration of built-in resources: it runs anywhere, with no cloud account.
# It shows variables, locals, count, for_each, a dependency chain and outputs.

variable "service" {
  type        = string
  default     = "github-enterprise"
  description = "The name of the stateful service this node runs."
}

variable "replicas" {
  type    = number
  default = 2
}

locals {
  private_ip = cidrhost("10.0.1.0/24", 10)
  tags = {
    Name    = var.service
    Managed = "relight"
  }
}

resource "terraform_data" "image" {
  input = "${var.service}-base-2026.11"
}

resource "terraform_data" "node" {
  input = {
    image      = terraform_data.image.output
    private_ip = local.private_ip
    tags       = local.tags
  }
  triggers_replace = terraform_data.image.output
}

resource "terraform_data" "volume" {
  input = { size = 100, tags = local.tags }
  lifecycle {
    prevent_destroy = false
  }
}

resource "terraform_data" "attachment" {
  input = "${terraform_data.volume.id} -> ${terraform_data.node.id}"
}

resource "terraform_data" "alarm" {
  for_each = toset(["status-check", "cpu-high"])
  input    = "${each.key} on ${terraform_data.node.output.private_ip}"
}

resource "terraform_data" "replica" {
  count = var.replicas
  input = "replica-${count.index}"
}

output "private_ip" {
  value = terraform_data.node.output.private_ip
}

output "alarms" {
  value = [for k, a in terraform_data.alarm : a.output]
}

output "replicas" {
  value = terraform_data.replica[*].output
}
