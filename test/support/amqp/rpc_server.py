#!/usr/bin/env python3
"""Answers COUNT requests on ADDRESS with Qpid Proton: each request's body upper-cased, sent to its reply_to with
the request's correlation id, through an anonymous sender. Prints 'ready' once attached."""
import argparse

from proton import Message
from proton.utils import BlockingConnection

p = argparse.ArgumentParser()
p.add_argument("url")
p.add_argument("address")
p.add_argument("count", type=int)
p.add_argument("--timeout", type=float, default=20)
a = p.parse_args()

conn = BlockingConnection(a.url, timeout=a.timeout)
rcv = conn.create_receiver(a.address, credit=10)
snd = conn.create_sender(None)
print("ready", flush=True)
for _ in range(a.count):
    req = rcv.receive(timeout=a.timeout)
    # settle the request first: its sender waits for that before it reads the answer
    rcv.accept()
    snd.send(Message(address=req.reply_to, correlation_id=req.correlation_id, body=str(req.body).upper()))
conn.close()
print("done", flush=True)
