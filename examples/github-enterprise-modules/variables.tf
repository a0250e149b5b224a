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

variable "instance_type" {
  type    = string
  default = "r5.xlarge"
}

variable "nodes" {
  description = <<-EOT
    The nodes, by name: each with its fixed private IP, its data volume's size and, to restore
    its data from an older snapshot, a snapshot_id. "primary" keeps the names the single-node
    stack always had (ghe.<domain>, the ghe-* alarms).
  EOT
  type = map(object({
    private_ip       = string
    data_volume_size = optional(number, 100)
    snapshot_id      = optional(string)
  }))
  default = {
    primary = { private_ip = "10.0.1.10" }
  }
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
