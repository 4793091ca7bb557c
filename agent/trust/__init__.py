"""Signed messages (CONTRACT §7). The board's side: the JWS framing (`jws.py`), the
trusted keys (`keys.py`), the keyring in force (`keyring.py`), the gate every inbound
message passes (`gate.py`), their place in the agent (`desk.py`), replays of signed
commands (`replay.py`), what `verify` asks (`verify.py`) and the one cryptographic step
(`ed25519.py`: PyNaCl). The city's side: key files and signing (`signing.py`,
`signing_cli.py`: `cryptography`). A board with `[trust]` loads PyNaCl when it starts (its
first alert must not wait for the import); a board without `[trust]` never loads it, not
even for a signed message it refuses; no board's `run` loads `cryptography`."""
