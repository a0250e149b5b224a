variable "name" {
  type        = string
  description = "The node's name; \"primary\" keeps the stack's original names."
}

variable "ghe_version" {
  type = string
}

variable "instance_type" {
  type = string
}

variable "subnet_cidr" {
  type = string
}

variable "private_ip" {
  type        = string
  description = "The node's fixed address; every replacement gets it again."

  validation {
    # AWS keeps the first four addresses of a subnet and the last one for itself.
    condition = contains(
      [for i in range(4, pow(2, 32 - tonumber(split("/", var.subnet_cidr)[1])) - 1) : cidrhost(var.subnet_cidr, i)],
      var.private_ip,
    )
    error_message = "The private_ip must be a usable address of the node's subnet (not one of the first four or the last)."
  }
}

variable "data_volume_size" {
  type    = number
  default = 100
}

variable "snapshot_id" {
  type        = string
  default     = null
  description = "Restore the data volume from this snapshot (revert to an older snapshot)."
}

variable "availability_zone" {
  type = string
}

variable "subnet_id" {
  type = string
}

variable "security_group_id" {
  type = string
}

variable "zone_id" {
  type = string
}

variable "domain" {
  type = string
}

variable "alarm_actions" {
  type    = list(string)
  default = []
}

variable "tags" {
  type    = map(string)
  default = {}
}
