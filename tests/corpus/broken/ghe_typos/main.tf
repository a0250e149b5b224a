# The GitHub Enterprise stack of the 2015 write-up, with the mistakes people make typing it.
variable "ghe_ami" {
  default = "ami-0abc1234"
}

resource "aws_vpc" "ghe" {
  cidr_block = "10.0.0.0/16"
}

resource "aws_subnet" "ghe" {
  vpc_id     = aws_vpc.ghe.id
  cidr_block = "10.0.1.0/24"
}

resource "aws_instanse" "ghe_primary" {
  ami           = var.ghe_ami
  instance_type = "r5.xlarge"
  subnet_id     = aws_subnet.ghe.id
  private_ip    = "10.0.1.10"
}

resource "aws_ebs_volume" "ghe_data" {
  availability_zone = aws_instance.ghe_primary.availability_zone
  size              = 100
  type              = "gp3"
}

resource "aws_volume_attachment" "ghe_data" {
  device_name = "/dev/xvdf"
  volume_id   = aws_ebs_volume.ghe_data.id
  instance_id = aws_instance.ghe_primary.id
}

output "ghe_ip" {
  value = aws_instance.ghe_primary.private_ip
}

output "ghe_subnet" {
  value = aws_subnet.ghe.cidr_blok
}
