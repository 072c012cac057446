#!/usr/bin/env python3
"""Receives from ADDRESS with Qpid Proton (a real AMQP 1.0 client). Prints 'ready' once the link is attached,
then one JSON line with the bodies received, after COUNT messages or after IDLE seconds without one."""
import argparse
import json
import sys

from proton.utils import BlockingConnection
from proton import Timeout

p = argparse.ArgumentParser()
p.add_argument("url")
p.add_argument("address")
p.add_argument("--count", type=int, default=0, help="stop after this many (0: stop when idle)")
p.add_argument("--idle", type=float, default=3, help="with --count 0: stop after this many seconds without a message")
p.add_argument("--reject-every", type=int, default=0, help="reject every Nth message, accept the others")
p.add_argument("--timeout", type=float, default=20)
p.add_argument("--credit", type=int, default=10)
p.add_argument("--hold", type=int, default=0, help="receive this many without settling any, then disconnect")
a = p.parse_args()

conn = BlockingConnection(a.url, timeout=a.timeout)
rcv = conn.create_receiver(a.address, credit=a.credit)
print("ready", flush=True)
if a.hold:
    held = [rcv.receive(timeout=a.timeout).body for _ in range(a.hold)]
    print(json.dumps({"held": held}), flush=True)
    conn.close()
    sys.exit(0)
bodies = []
n = 0
while a.count == 0 or len(bodies) < a.count:
    try:
        m = rcv.receive(timeout=a.timeout if a.count else a.idle)
    except Timeout:
        if a.count:
            print(json.dumps({"error": "timeout", "bodies": bodies}), flush=True)
            sys.exit(3)
        break
    n += 1
    if a.reject_every and n % a.reject_every == 0:
        rcv.reject()
    else:
        rcv.accept()
    bodies.append(m.body)
print(json.dumps({"bodies": bodies}), flush=True)
conn.close()
