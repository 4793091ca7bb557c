"""Signed messages (CONTRACT §7): the JWS framing (`jws.py`), the trusted keys
(`keys.py`), the keyring in force (`keyring.py`) and the gate every inbound message
passes (`gate.py`). `cryptography` is imported only where a signature is checked or a
PEM key read, so a board without `[trust]` never loads it."""
