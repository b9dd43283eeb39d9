"""VERP return paths: each outgoing message's envelope sender names it, signed.

A bounce goes to the envelope sender of the message that failed, and most servers
write that address into Delivered-To / X-Original-To (or To) of the bounce, even when
the bounce itself is not a readable report. Sending message 42 from
`giaoban+b42-1a2b3c4d@domain` (the inbound mailbox with "+b<id>-<signature>" before the
@) therefore tells which outbox row failed from the address alone. The signature (8 hex
digits of an HMAC-SHA256 with the service's secret key) keeps anyone from forging a
bounce that would mark other sites' addresses as broken: without the key, a made-up
"+b<id>" is not ours.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from email.utils import parseaddr

_TAG = re.compile(r"b([0-9]{1,18})-([0-9a-f]{8})")


def _signature(outbox_id: int, secret: str) -> str:
    digest = hmac.new(secret.encode(), f"verp:{outbox_id}".encode(), hashlib.sha256)
    return digest.hexdigest()[:8]


def return_path(inbound_address: str, outbox_id: int, secret: str) -> str:
    """The envelope sender of outbox message `outbox_id`: `local+b<id>-<sig>@domain`."""
    local, at, domain = inbound_address.strip().rpartition("@")
    if not at or not local or not domain:
        raise ValueError(f"not an e-mail address: {inbound_address!r}")
    return f"{local}+b{outbox_id}-{_signature(outbox_id, secret)}@{domain}"


def outbox_id_of(address: str, *, inbound_address: str, secret: str) -> int | None:
    """The outbox message a return path names; None when the address is not one of ours
    (another mailbox, no tag, a wrong signature). Case does not matter: servers
    lower-case addresses on the way."""
    found = parseaddr(address)[1].strip().lower() if address else ""
    local, at, domain = found.rpartition("@")
    own_local, own_at, own_domain = inbound_address.strip().lower().rpartition("@")
    if not at or not own_at or domain != own_domain or not local.startswith(own_local + "+"):
        return None
    tag = _TAG.fullmatch(local[len(own_local) + 1 :])
    if tag is None:
        return None
    outbox_id = int(tag.group(1))
    if not hmac.compare_digest(tag.group(2), _signature(outbox_id, secret)):
        return None
    return outbox_id
