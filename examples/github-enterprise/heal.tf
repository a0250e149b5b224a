# The self-healing policy `relight watch` follows (see README, "Self-healing").
# A vanished node is re-created and re-wired by itself; anything else (drift,
# edited config, a data volume at risk) is reported for a person.
#
# The rehearsal checks `relight rehearse` runs on a throwaway copy of the stack
# (the candidate image, a volume from the latest data snapshot) before an
# upgrade reaches the real node (see README, "Rolling out a new version").
relight {
  rehearsal {
    timeout = "10m"

    # The service is up and serves the data it found on the volume.
    check "http" {
      path = "/status"
      port = 80
      json = { status = "ok", version = var.ghe_version }
    }

    # The data survived: the token is there, and the schema is this release's.
    check "command" {
      run = "test -s /data/ghe/token && cat /data/ghe/schema"
    }
  }

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
