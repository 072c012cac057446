#!/usr/bin/env python3
"""Sends COUNT messages to ADDRESS with Qpid Proton (a real AMQP 1.0 client): one at a time, each waiting for its
settlement, or with --pipeline as fast as credit allows. Prints one JSON line: how many were accepted, rejected,
released, modified."""
import argparse
import json
import sys

from proton import Delivery, Message, SSLDomain
from proton.handlers import MessagingHandler
from proton.reactor import Container
from proton.utils import BlockingConnection, SendException

p = argparse.ArgumentParser()
p.add_argument("url")
p.add_argument("address")
p.add_argument("count", type=int)
p.add_argument("--body", default="m")
p.add_argument("--timeout", type=float, default=20)
p.add_argument("--anonymous", action="store_true", help="use the anonymous relay: a link without target, 'to' per message")
p.add_argument("--ca", help="amqps: trust this CA (PEM) and verify the server's certificate chain")
p.add_argument("--cert", help="amqps: present this client certificate (PEM), with --key")
p.add_argument("--key", help="amqps: the client certificate's private key (PEM)")
p.add_argument("--user", help="log in with SASL PLAIN as this user, with --password")
p.add_argument("--password")
p.add_argument("--pipeline", action="store_true", help="send as credit allows, do not wait for each settlement")
a = p.parse_args()


class Pipelined(MessagingHandler):
    def __init__(self):
        super().__init__()
        self.sent = 0
        self.out = {"accepted": 0, "rejected": 0, "released": 0, "modified": 0}

    def on_start(self, event):
        event.container.create_sender(a.url + "/" + a.address)

    def on_sendable(self, event):
        while event.sender.credit and self.sent < a.count:
            event.sender.send(Message(body=f"{a.body}-{self.sent}", properties={"i": self.sent}))
            self.sent += 1

    def outcome(self, event, name):
        self.out[name] += 1
        if sum(self.out.values()) == a.count:
            event.connection.close()

    def on_accepted(self, event):
        self.outcome(event, "accepted")

    def on_rejected(self, event):
        self.outcome(event, "rejected")

    def on_released(self, event):
        self.outcome(event, "released" if event.delivery.remote_state == Delivery.RELEASED else "modified")


if a.pipeline:
    h = Pipelined()
    Container(h).run()
    print(json.dumps(h.out), flush=True)
    sys.exit(0)

ssl = None
if a.ca:
    ssl = SSLDomain(SSLDomain.MODE_CLIENT)
    ssl.set_trusted_ca_db(a.ca)
    ssl.set_peer_authentication(SSLDomain.VERIFY_PEER)
    if a.cert:
        ssl.set_credentials(a.cert, a.key, None)
login = {}
if a.user:
    login = {"user": a.user, "password": a.password, "allowed_mechs": "PLAIN", "allow_insecure_mechs": True}
conn = BlockingConnection(a.url, timeout=a.timeout, ssl_domain=ssl, **login)
snd = conn.create_sender(None if a.anonymous else a.address)
out = {"accepted": 0, "rejected": 0, "released": 0, "modified": 0}
names = {Delivery.REJECTED: "rejected", Delivery.RELEASED: "released", Delivery.MODIFIED: "modified"}
for i in range(a.count):
    m = Message(body=f"{a.body}-{i}", properties={"i": i})
    if a.anonymous:
        m.address = a.address
    try:
        snd.send(m)
        out["accepted"] += 1
    except SendException as e:
        k = names.get(e.state, str(e.state))
        out[k] = out.get(k, 0) + 1
conn.close()
print(json.dumps(out), flush=True)
sys.exit(0)
