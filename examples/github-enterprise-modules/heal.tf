# The self-healing policy `relight watch` follows (see README, "Self-healing").
# A vanished node (in any module) is re-created and re-wired by itself; anything else (drift,
# edited config, a data volume at risk) is reported for a person.
relight {
  heal {
    mode                    = "auto"
    revert_drift            = false
    max_recoveries_per_hour = 3

    notify {
      slack   = var.slack_webhook_url
      webhook = var.incident_webhook_url
    }
  }
}

variable "slack_webhook_url" {
  type        = string
  default     = null
  description = "A Slack incoming webhook for incidents (export TF_VAR_slack_webhook_url)."
}

variable "incident_webhook_url" {
  type        = string
  default     = null
  description = "Any endpoint that accepts incident events as JSON."
}
