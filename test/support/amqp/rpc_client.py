#!/usr/bin/env python3
"""Sends COUNT requests to ADDRESS with Qpid Proton, each with reply_to set to a dynamic (temporary) address the
router made for this client, and waits for every answer. Prints the reply address and the answers as JSON."""
import argparse
import json

from proton import Message
from proton.utils import BlockingConnection

p = argparse.ArgumentParser()
p.add_argument("url")
p.add_argument("address")
p.add_argument("count", type=int)
p.add_argument("--timeout", type=float, default=20)
a = p.parse_args()

conn = BlockingConnection(a.url, timeout=a.timeout)
replies = conn.create_receiver(None, dynamic=True, credit=10)
reply_to = replies.link.remote_source.address
snd = conn.create_sender(a.address)
answers = []
for i in range(a.count):
    snd.send(Message(body=f"request-{i}", reply_to=reply_to, correlation_id=i))
    m = replies.receive(timeout=a.timeout)
    replies.accept()
    answers.append([m.correlation_id, m.body])
conn.close()
print(json.dumps({"replyTo": reply_to, "answers": answers}), flush=True)
