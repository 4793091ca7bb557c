"""Signed messages (CONTRACT §7). The board's side: the JWS framing (`jws.py`), the
trusted keys (`keys.py`), the keyring in force (`keyring.py`), the gate every inbound
message passes (`gate.py`), their place in the agent (`desk.py`), replays of signed
commands (`replay.py`) and what `verify` asks (`verify.py`). The city's side: key files
and signing (`signing.py`, `signing_cli.py`). `cryptography` is imported only where a
signature is made or checked or a PEM key read: a board without `[trust]` never loads it."""
