# The GitHub Enterprise stack of ../github-enterprise, written as a root module that calls two
# modules: the network the nodes live in, and one node per entry of var.nodes (the primary,
# and a replica or a staging node if you add one). Each node is disposable and comes back the
# same way (same image, same private IP, same data volume, same alarms, same DNS name); its
# data lives on a separate volume that is snapshotted before relight ever destroys it.
#
# Coming from ../github-enterprise? moved.tf carries its state over: the first plan here moves
# every object to its module address and changes nothing in the cloud.
#
# Runs unchanged on the local cloud (`relight local-cloud`) and on real AWS.

terraform {
  backend "local" {
    path = "relight.tfstate"
  }
}

provider "aws" {
  region = var.region
}

module "network" {
  source = "./modules/network"

  availability_zone = var.availability_zone
  internal_domain   = var.internal_domain
  tags              = local.tags
}

module "ghe" {
  source   = "./modules/ghe-node"
  for_each = var.nodes

  name              = each.key
  ghe_version       = var.ghe_version
  instance_type     = var.instance_type
  private_ip        = each.value.private_ip
  data_volume_size  = each.value.data_volume_size
  snapshot_id       = each.value.snapshot_id
  availability_zone = var.availability_zone
  subnet_id         = module.network.subnet_id
  subnet_cidr       = module.network.subnet_cidr
  security_group_id = module.network.security_group_id
  zone_id           = module.network.zone_id
  domain            = var.internal_domain
  alarm_actions     = var.alarm_actions
  tags              = local.tags
}

locals {
  tags = { Service = "github-enterprise", ManagedBy = "relight" }
}
