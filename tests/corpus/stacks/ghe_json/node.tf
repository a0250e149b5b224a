data "aws_ami" "ghe" {
  most_recent = true
  owners      = ["self"]
  filter {
    name   = "name"
    values = ["ghe-*"]
  }
}

resource "aws_instance" "node" {
  ami           = data.aws_ami.ghe.id
  instance_type = "t3.micro"
  subnet_id     = aws_subnet.private.id
  private_ip    = var.private_ip

  lifecycle {
    precondition {
      condition     = cidrhost(aws_subnet.private.cidr_block, 10) == var.private_ip
      error_message = "The node's address must be host 10 of its subnet."
    }
    postcondition {
      condition     = self.private_ip == var.private_ip
      error_message = "The node came up at ${self.private_ip}, not ${var.private_ip}."
    }
  }
}

resource "aws_ebs_volume" "data" {
  availability_zone = aws_instance.node.availability_zone
  size              = 10
  tags              = { Name = "ghe-data" }
}

check "data_volume_is_big_enough" {
  assert {
    condition     = aws_ebs_volume.data.size >= 100
    error_message = "The data volume has ${aws_ebs_volume.data.size} GB; GitHub Enterprise wants 100."
  }
}

check "image_is_recent" {
  data "aws_ami" "latest" {
    most_recent = true
    owners      = ["self"]
    filter {
      name   = "name"
      values = ["ghe-*"]
    }
  }
  assert {
    condition     = data.aws_ami.latest.id == aws_instance.node.ami
    error_message = "The node does not run the latest image."
  }
}

output "node_ip" {
  value = aws_instance.node.private_ip
  precondition {
    condition     = aws_instance.node.private_ip != ""
    error_message = "The node has no address."
  }
}
