#!/usr/bin/env python3
"""sock_drops.py PID [PORT]: prints "ALL ON_PORT": datagrams dropped because a receive buffer
was full, summed over the UDP sockets process PID holds open now, and over those of them bound
to PORT (e.g. the SIP socket). From the drops column of /proc/net/udp{,6}; on loopback that is
all the loss there is."""
import os
import sys

pid, port = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 0
inodes = set()
try:
    for fd in os.listdir("/proc/%s/fd" % pid):
        try:
            link = os.readlink("/proc/%s/fd/%s" % (pid, fd))
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
except OSError:
    pass
total = on_port = 0
for table in ("/proc/net/udp", "/proc/net/udp6"):
    try:
        rows = open(table).read().splitlines()[1:]
    except OSError:
        continue
    for row in rows:
        f = row.split()
        if f[9] in inodes:
            total += int(f[-1])
            if int(f[1].split(":")[1], 16) == port:
                on_port += int(f[-1])
print(total, on_port)
