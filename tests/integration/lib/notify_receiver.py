#!/usr/bin/env python3
"""Stands in for systemd's notification socket in tests: binds an AF_UNIX datagram socket at
argv[1] (an absolute path, or @name for the abstract namespace), prints "BOUND" once it is bound,
then one JSON string per datagram received, until killed."""
import json
import socket
import sys

name = sys.argv[1]
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind("\0" + name[1:] if name.startswith("@") else name)
print("BOUND", flush=True)
while True:
    data = sock.recv(65536)
    print(json.dumps(data.decode("utf-8", "replace")), flush=True)
