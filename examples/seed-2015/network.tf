# What the seed's snippet assumes already exists: a provider, a VPC with a
# subnet, and a security group (its "<subnet_id>" and "<security_groups>").

provider "aws" {
  region = "us-east-1"
}

resource "aws_vpc" "ghe" {
  cidr_block = "10.0.0.0/16"
}

resource "aws_subnet" "ghe" {
  vpc_id = "${aws_vpc.ghe.id}"
  cidr_block = "10.0.1.0/24"
  availability_zone = "us-east-1a"
}

resource "aws_security_group" "ghe" {
  name = "ghe"
  vpc_id = "${aws_vpc.ghe.id}"
  ingress {
    from_port = 443
    to_port = 443
    protocol = "tcp"
    cidr_blocks = ["10.0.0.0/16"]
  }
}
