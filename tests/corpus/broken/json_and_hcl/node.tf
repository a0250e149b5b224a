resource "aws_instance" "node" {
  ami           = "ami-1"
  instance_type = "t3.micro"
  subnet_id     = aws_subnet.main.id
  private_ip    = aws_subnet.main.cidr_block
}

resource "aws_route53_record" "node" {
  zone_id = aws_route53_zone.internal.zone_id
  name    = "ghe.internal"
  type    = "A"
  ttl     = 300
  records = [aws_instance.node.private_ip]
}
