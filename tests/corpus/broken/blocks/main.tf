# Blocks relight checks before running anything: providers, conditions, imports, provisioners.
terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 2.70"
    }
    google = {
      source = "hashicorp/google"
    }
    terraform = {
      source  = "terraform.io/builtin/terraform"
      version = ">= 1.0"
    }
  }
}

resource "terraform_data" "web" {
  input = "web"

  provisioner "local-exec" {
    command = "echo ${self.output}"
  }

  lifecycle {
    precondition {
      condition     = 1 + 1 == 2
      error_message = "Arithmetic broke."
    }
  }
}

resource "terraform_data" "db" {
  input = "db"

  connection {
    type = "ssh"
    host = "10.0.1.5"
  }
}

import {
  to = terraform_data.cache
  id = "cache-1"
}

import {
  to = terraform_data.db
  id = "db-1"
}

import {
  to = terraform_data.db
  id = "db-2"
}

check "web_answers" {
  assert {
    condition     = true
    error_message = "Never fails."
  }
}

output "web" {
  value = terraform_data.web.output
  precondition {
    condition     = terraform_data.web.input == "web"
    error_message = "The web node must be called web."
  }
}
