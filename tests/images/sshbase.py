"""An image whose instances answer SSH, for SSH builds on the local cloud.

OpenSSH's sshd cannot run in the local cloud's sandboxes: its pre-authentication privilege
separation calls setgroups(), which a user namespace with one mapped uid refuses
("setgroups: Operation not permitted [preauth]" in its log). So the image runs a small SSH
server built on paramiko (Debian's python3-paramiko, for the host's python3 the instances use):
public-key authentication against /root/.ssh/authorized_keys (where the local cloud, like
cloud-init, writes the launch's key pair) and exec requests run with /bin/sh. The client side,
relight's SSH communicator, speaks real SSH to it.
"""

from __future__ import annotations

import subprocess

import pytest

from tests.localcloud.machines import GHE_217, Machines

SERVER = r"""
import base64, os, socket, subprocess, threading, paramiko

HOST_KEY = "/etc/ssh/relight_host_rsa_key"
if not os.path.exists(HOST_KEY):
    os.makedirs("/etc/ssh", exist_ok=True)
    paramiko.RSAKey.generate(2048).write_private_key_file(HOST_KEY)
host_key = paramiko.RSAKey(filename=HOST_KEY)


def authorized():
    try:
        lines = open("/root/.ssh/authorized_keys").read().split("\n")
    except OSError:
        return set()
    return {line.split()[1] for line in lines if len(line.split()) >= 2}


class Server(paramiko.ServerInterface):
    def __init__(self):
        self.commands = {}
        self.changed = threading.Condition()

    def get_allowed_auths(self, username):
        return "publickey"

    def check_auth_publickey(self, username, key):
        ok = username == "root" and key.get_base64() in authorized()
        return paramiko.AUTH_SUCCESSFUL if ok else paramiko.AUTH_FAILED

    def check_channel_request(self, kind, chanid):
        return paramiko.OPEN_SUCCEEDED if kind == "session" else paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_exec_request(self, channel, command):
        with self.changed:
            self.commands[channel.get_id()] = command.decode()
            self.changed.notify_all()
        return True

    def command_of(self, channel):
        with self.changed:
            self.changed.wait_for(lambda: channel.get_id() in self.commands, timeout=30)
            return self.commands.pop(channel.get_id(), None)


def serve(conn):
    transport = paramiko.Transport(conn)
    transport.add_server_key(host_key)
    server = Server()
    try:
        transport.start_server(server=server)
    except Exception:
        return
    while transport.is_active():
        channel = transport.accept(60)
        if channel is None:
            continue
        command = server.command_of(channel)
        if command is None:
            channel.close()
            continue
        threading.Thread(target=run, args=(channel, command), daemon=True).start()


def run(channel, command):
    proc = subprocess.Popen(["/bin/sh", "-c", command], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    def feed():
        while True:
            data = channel.recv(65536)
            if not data:
                break
            proc.stdin.write(data)
        proc.stdin.close()
    threading.Thread(target=feed, daemon=True).start()
    for chunk in iter(lambda: proc.stdout.read1(65536), b""):
        channel.sendall(chunk)
    channel.send_exit_status(proc.wait())
    channel.close()


listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("0.0.0.0", 22))
listener.listen(16)
while True:
    conn, _ = listener.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
"""


def ssh_base_image(m: Machines) -> str:
    probe = subprocess.run(["/usr/bin/python3", "-c", "import paramiko"], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip("the SSH test's server needs the host's python3 with paramiko (apt-get install python3-paramiko)")
    node = m.launch(GHE_217, ip="10.0.1.30")
    m.wait_booted(node)
    encoded = __import__("base64").b64encode(SERVER.encode()).decode()
    m.sh(
        node,
        "set -e",
        f"echo {encoded} | base64 -d > /opt/sshd.py",
        "printf 'nohup python3 /opt/sshd.py >>/var/log/sshd.log 2>&1 </dev/null &\\n' >> /etc/rc.local",
    )
    m.ec2.stop_instances(InstanceIds=[node])
    image = str(m.ec2.create_image(InstanceId=node, Name="ssh-base")["ImageId"])
    m.ec2.terminate_instances(InstanceIds=[node])
    return image
