"""Schemathesis hooks: WHEP offers (`application/sdp`) go on the wire as text."""
from schemathesis.transport.requests import REQUESTS_TRANSPORT, text_serializer

REQUESTS_TRANSPORT.serializer("application/sdp")(text_serializer)
