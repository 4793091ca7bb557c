"""Does the broker deliver the board's commands? A probe on its own cmd topic says.

Mosquitto grants the subscription of a topic its ACL denies reading (SUBACK success) and
then never delivers a message on it: a board whose ACL lost `pattern read …/%u/cmd`
would look healthy while no command reaches it. So at every connection the link
publishes one probe, `{"type": "probe", "probe": NONCE}` (QoS 1, not retained), on the
board's cmd topic, and watches for it to come back:

- it comes back: read permission proven (the probe is swallowed, never a command);
- the broker refuses the publish (MQTT 5 PUBACK "Not authorized"): the board may not
  write its cmd topic, as the example ACL intends; read permission is then not testable
  from the board (doctor says so too, and a ping from the dashboard proves it);
- the broker accepted it (MQTT 5 PUBACK success) but it never came back within
  `wait_s`: the broker denies reading the cmd topic — a denial, like a refused publish;
- MQTT 3.1.1 acknowledges a refused publish like any other: a probe that did not come
  back proves nothing there.

Thread-safe: paho's thread reports the publish, its PUBACK and arrivals; the link's
supervisor thread asks for the verdict.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections import deque
from dataclasses import dataclass
from typing import Literal

PROBE_WAIT_S = 5.0
REMEMBERED = 8  # probes of earlier connections may still arrive (persistent session)
MAX_PROBE_BYTES = 128

Finding = Literal["proven", "denied", "untestable"]


@dataclass(frozen=True, slots=True)
class Verdict:
    finding: Finding
    reason: str


class CommandReadProbe:
    def __init__(self, topic: str, wait_s: float = PROBE_WAIT_S) -> None:
        self.topic = topic
        self.wait_s = wait_s
        self._lock = threading.Lock()
        self._nonces: deque[str] = deque(maxlen=REMEMBERED)
        self._mid: int | None = None
        self._sent_at: float | None = None
        self._accepted: bool | None = None  # the PUBACK: None while none came
        self._refusal = ""
        self._arrived = False
        self._decided = False
        self._verifiable = True  # MQTT 5: a PUBACK says whether the broker took it
        self.last_finding: Finding | None = None  # of the last connection that had one

    def payload(self) -> bytes:
        """A new probe for a new connection (its predecessors are still recognised)."""
        nonce = secrets.token_hex(8)
        with self._lock:
            self._nonces.append(nonce)
            self._mid = None
            self._sent_at = None
            self._accepted = None
            self._arrived = False
            self._decided = False
        return json.dumps({"type": "probe", "probe": nonce}).encode()

    def sent(self, mid: int, at: float, *, verifiable: bool) -> None:
        """Handed to the client as `mid`; `verifiable` when the PUBACK carries a reason
        code (MQTT 5 with QoS 1)."""
        with self._lock:
            self._mid = mid
            self._sent_at = at
            self._verifiable = verifiable

    def acknowledged(self, mid: int, accepted: bool, reason: str) -> bool:
        """A PUBACK; True when it was the probe's (not a report of the board's)."""
        with self._lock:
            if mid != self._mid or self._sent_at is None:
                return False
            self._accepted = accepted
            self._refusal = reason
            return True

    def is_probe(self, topic: str, payload: bytes | bytearray) -> bool:
        """True for a probe of this process on the cmd topic (marked arrived)."""
        if topic != self.topic or len(payload) > MAX_PROBE_BYTES:
            return False
        try:
            message = json.loads(payload)
        except ValueError:
            return False
        if not isinstance(message, dict) or message.get("type") != "probe":
            return False
        with self._lock:
            if message.get("probe") not in self._nonces:
                return False
            if message.get("probe") == self._nonces[-1]:
                self._arrived = True
            return True

    def pending(self) -> bool:
        """Sent on this connection and not judged yet: the verdict is still to be asked."""
        with self._lock:
            return self._sent_at is not None and not self._decided

    def verdict(self, now: float) -> Verdict | None:
        """The finding of this connection's probe, once; None while it is not known."""
        with self._lock:
            if self._decided or self._sent_at is None:
                return None
            found = self._judge(now - self._sent_at)
            if found is not None:
                self._decided = True
                self.last_finding = found.finding
            return found

    def _judge(self, waited: float) -> Verdict | None:
        if self._arrived:
            return Verdict("proven", f"a probe on {self.topic} came back")
        if self._accepted is False:
            return Verdict(
                "untestable",
                f"the broker does not let the board write {self.topic} ({self._refusal}), "
                "so the board cannot prove it may read its commands; a ping from the "
                "dashboard proves it",
            )
        if waited < self.wait_s:
            return None
        if self._accepted and self._verifiable:
            return Verdict(
                "denied",
                f"the broker accepted a probe command but did not deliver it within "
                f"{self.wait_s:g} s: its ACL must let the board read {self.topic}",
            )
        if self._verifiable and self._accepted is None:
            return None  # no PUBACK yet: a slow broker; the connection's own checks cut it
        return Verdict(
            "untestable",
            f"a probe on {self.topic} did not come back, and MQTT 3.1.1 brokers "
            "acknowledge a refused publish like any other: the board cannot tell whether "
            "it may read its commands; a ping from the dashboard proves it",
        )
