# Types that only fail at apply unless they are checked before: each argument below is wrong.
variable "sg_ids" {
  type    = list(string)
  default = ["sg-1"]
}

variable "size" {
  type    = number
  default = 8
}

resource "aws_security_group" "web" {
  name = "web"
}

resource "aws_instance" "a" {
  ami                    = ["ami-1"]
  instance_type          = "t3.micro"
  vpc_security_group_ids = aws_security_group.web.id
  tags                   = "web"
  root_block_device {
    volume_size = [var.size]
  }
}

resource "aws_instance" "b" {
  ami                    = "ami-1"
  instance_type          = "t3.micro"
  vpc_security_group_ids = "sg-123"
  associate_public_ip_address = "maybe"
}

resource "aws_instance" "fine" {
  ami                    = "ami-1"
  instance_type          = "t3.micro"
  vpc_security_group_ids = var.sg_ids
  tags                   = { Name = "fine", Size = var.size }
  root_block_device {
    volume_size = var.size
  }
}

resource "aws_ebs_volume" "v" {
  availability_zone = "us-east-1a"
  size              = "${var.size}GB"
  tags              = { Name = ["data"] }
}
