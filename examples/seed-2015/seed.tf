# The three resources exactly as the 2015 account writes them (Terraform 0.6
# syntax: quoted interpolation, `tags` as a block, 1 for true, "" for unset).
# Only the placeholders are filled in, from network.tf; and the seed's volume
# zone "us-east-1" (a region, which AWS refuses as a zone) is given as the
# zone "us-east-1a". The image ami-347c015e exists on the local cloud (it ships
# it for this example); on a real account, use an image you own.

resource "aws_instance" "ghe_node" {
  ami = "ami-347c015e"
  instance_type = "m4.xlarge"
  subnet_id = "${aws_subnet.ghe.id}"
  vpc_security_group_ids = ["${aws_security_group.ghe.id}"]
  associate_public_ip_address = 1
  private_ip = ""
  tags {
    Name = "github-enterprise"
  }
}

resource "aws_ebs_volume" "ghe_vol" {
  availability_zone = "us-east-1a"
  size = 100
  tags {
    Name = "github-enterprise"
  }
  snapshot_id = ""
}

resource "aws_volume_attachment" "ghe_vol_att" {
  device_name = "/dev/xvdf"
  volume_id = "${aws_ebs_volume.ghe_vol.id}"
  instance_id = "${aws_instance.ghe_node.id}"
}
