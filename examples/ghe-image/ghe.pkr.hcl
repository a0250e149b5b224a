# A GitHub Enterprise image for examples/github-enterprise, in Packer's HCL2 template language.
# `relight image build examples/ghe-image` builds it (on the local cloud or on AWS);
# `packer build` reads the same file.

packer {
  required_plugins {
    amazon = {
      version = ">= 1.2.0"
      source  = "github.com/hashicorp/amazon"
    }
  }
}

variable "ghe_version" {
  type        = string
  default     = "2.18.0"
  description = "The release this image runs."
}

variable "base_version" {
  type        = string
  default     = "2.17.0"
  description = "The release of the image it starts from."
}

variable "region" {
  type    = string
  default = "us-east-1"
}

locals {
  stamp = regex_replace(timestamp(), "[- TZ:]", "")
}

source "amazon-ebs" "ghe" {
  region        = var.region
  ami_name      = "ghe-${var.ghe_version}-${local.stamp}"
  instance_type = "t3.medium"
  ssh_username  = "admin"

  source_ami_filter {
    filters = {
      name                = "ghe-${var.base_version}-*"
      root-device-type    = "ebs"
      virtualization-type = "hvm"
    }
    owners      = ["self"]
    most_recent = true
  }

  tags = {
    Name    = "ghe-${var.ghe_version}"
    Service = "github-enterprise"
    Version = var.ghe_version
  }
  run_tags = {
    Name = "packer-ghe-${var.ghe_version}"
  }
}

build {
  name    = "ghe"
  sources = ["source.amazon-ebs.ghe"]

  # A file: the banner the service shows.
  provisioner "file" {
    source      = "files/banner.txt"
    destination = "/etc/ghe/banner.txt"
  }

  # The release itself, and a second service (a health endpoint on port 8080) started at boot.
  provisioner "shell" {
    environment_vars = ["GHE_VERSION=${var.ghe_version}"]
    script           = "scripts/install.sh"
  }

  provisioner "shell" {
    inline = ["test -f /etc/ghe/banner.txt", "/opt/ghe/bin/ghe-health status || true"]
  }

  post-processor "manifest" {
    output     = "packer-manifest.json"
    strip_path = true
  }
}
