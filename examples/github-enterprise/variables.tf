variable "region" {
  type    = string
  default = "us-east-1"
}

variable "availability_zone" {
  type    = string
  default = "us-east-1a"
}

variable "ghe_version" {
  type        = string
  default     = "2.17.0"
  description = "The GitHub Enterprise version; picks the newest ghe-<version>-* image."
}

variable "image_channel" {
  type        = string
  default     = null
  description = "Only boot a ghe image promoted to this channel (e.g. production); null: the newest of ghe_version."
}

variable "instance_type" {
  type    = string
  default = "r5.xlarge"
}

variable "private_ip" {
  type        = string
  default     = "10.0.1.10"
  description = "The node's fixed address; every replacement gets it again."

  validation {
    # AWS keeps the first four addresses of a subnet and the last one for itself.
    condition     = contains([for i in range(4, 255) : cidrhost("10.0.1.0/24", i)], var.private_ip)
    error_message = "The private_ip must be a usable address of the private subnet: 10.0.1.4 to 10.0.1.254."
  }
}

variable "data_volume_size" {
  type    = number
  default = 100
}

variable "snapshot_id" {
  type        = string
  default     = null
  description = "Restore the data volume from this snapshot (scenario 2: revert to an older snapshot)."
}

variable "internal_domain" {
  type    = string
  default = "corp.internal"
}

variable "alarm_actions" {
  type        = list(string)
  default     = []
  description = "SNS topic ARNs to notify when an alarm fires."
}
