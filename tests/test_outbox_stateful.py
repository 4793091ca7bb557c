"""The outbox under any sequence of submits, outages, acknowledgements, restarts, crashes,
shrinking broker limits and poisoned spool lines (Hypothesis stateful testing).

Invariants, after every step:

- bound: it never holds more than `bound` messages;
- only the board's own topics are ever handed to the client, and never a message larger
  than the broker's limit of that moment;
- order per class: the first hand-over of each message is in submission order, separately
  for urgent and ordinary messages;
- nothing lost silently: every message submitted is delivered, still waiting, counted as
  dropped (bound, oversize), or was only in memory when the process crashed (by design:
  no disk write per online message);
- and when the link finally stays up, everything that was not dropped arrives.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from agent.outbound import packet_bytes
from agent.outbox import Outbox

OWN = ("r/board/b/heartbeat", "r/board/b/events", "r/board/b/cmd/result")
BOUND, WINDOW = 8, 3
POISON = [
    b'{"topic": "signage/v1/alert/city/injected", "payload": "{\\"n\\": -1}"}\n',
    b'{"topic": "r/board/+/events", "payload": "{}"}\n',
    b'{"topic": 7, "payload": "{}"}\n',
    b'{"topic": "r/board/b/ev',
]


class Client:
    """paho as the outbox sees it; `sent` is what reached the broker, in order."""

    def __init__(self, machine: OutboxMachine) -> None:
        self.machine = machine
        self.inflight: list[int] = []
        self.mid_to_n: dict[int, int] = {}
        self.refusing = False
        self._mid = 0

    def publish(self, topic: str, payload: bytes) -> int | None:
        if self.refusing:
            return None
        assert topic in OWN, f"published to a foreign topic {topic!r}"
        assert packet_bytes(topic, payload) <= self.machine.limit, "handed over an oversize one"
        self._mid += 1
        body = json.loads(payload)
        self.inflight.append(self._mid)
        self.mid_to_n[self._mid] = body["n"]
        self.machine.handed.append(body)
        return self._mid


class OutboxMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="outbox-sm-"))
        self.limit = 2000
        self.client = Client(self)
        self.outbox = self._open()
        self.online = False
        self.n = 0
        self.submitted: dict[int, bool] = {}  # n → urgent
        self.handed: list[dict[str, int]] = []
        self.delivered: set[int] = set()
        self.crash_lost: set[int] = set()
        self.oversize_before = 0  # counted by earlier processes

    def _open(self) -> Outbox:
        return Outbox(
            self.dir,
            self.client.publish,
            bound=BOUND,
            window=WINDOW,
            topics=OWN,
            max_message_bytes=lambda: self.limit,
        )

    # --- rules --------------------------------------------------------------------------

    @rule(urgent=st.booleans(), big=st.booleans(), topic=st.sampled_from(OWN))
    def submit(self, urgent: bool, big: bool, topic: str) -> None:
        self.n += 1
        self.submitted[self.n] = urgent
        body = {"n": self.n, "urgent": int(urgent), "pad": "p" * (1200 if big else 10)}
        self.outbox.submit(topic, json.dumps(body).encode(), urgent=urgent)

    @rule()
    def link_up(self) -> None:
        self.online = True
        self.outbox.link_up()

    @rule()
    def link_down(self) -> None:
        self.online = False
        self.outbox.link_down()

    @precondition(lambda self: self.online and self.client.inflight)
    @rule(pick=st.integers(min_value=0, max_value=WINDOW - 1))
    def deliver(self, pick: int) -> None:
        mid = self.client.inflight.pop(pick % len(self.client.inflight))
        self.delivered.add(self.client.mid_to_n[mid])
        self.outbox.delivered(mid)

    @rule(refusing=st.booleans())
    def client_refuses(self, refusing: bool) -> None:
        self.client.refusing = refusing

    @rule(limit=st.sampled_from([2000, 800]))
    def broker_limit(self, limit: int) -> None:
        self.limit = limit  # announced by the broker at the next connection

    @rule()
    def clean_restart(self) -> None:
        self.outbox.link_down()  # what the core does on the way out
        self._restart()

    @rule()
    def crash(self) -> None:
        self.crash_lost |= {
            json.loads(r.payload)["n"] for r in self.outbox.records if not r.on_disk
        }
        self._restart()

    @rule(line=st.sampled_from(POISON))
    def poison_the_spool(self, line: bytes) -> None:
        with (self.dir / "outbox.jsonl").open("ab") as spool:
            spool.write(line if line.endswith(b"\n") else line + b"\n")

    def _restart(self) -> None:
        self.oversize_before += self.outbox.oversize
        self.client = Client(self)  # a new process: paho's in-memory session is gone
        self.online = False
        self.outbox = self._open()

    # --- invariants ---------------------------------------------------------------------

    @invariant()
    def bound_is_respected(self) -> None:
        assert len(self.outbox) <= BOUND

    @invariant()
    def order_per_class(self) -> None:
        for urgent in (True, False):
            first: list[int] = []
            for body in self.handed:
                n = body["n"]
                if n > 0 and self.submitted[n] == urgent and n not in first:
                    first.append(n)
            assert first == sorted(first), (urgent, first)

    @invariant()
    def nothing_lost_silently(self) -> None:
        waiting = {json.loads(r.payload).get("n") for r in self.outbox.records}
        unaccounted = set(self.submitted) - self.delivered - waiting - self.crash_lost
        counted = self.outbox.dropped + self.oversize_before + self.outbox.oversize
        assert len(unaccounted) <= counted, (unaccounted, counted)

    def teardown(self) -> None:
        try:
            self.client.refusing = False
            self.limit = 2000
            self.link_up()
            for _ in range(10 * (len(self.submitted) + BOUND)):
                if not self.client.inflight:
                    break
                self.deliver(0)
            assert len(self.outbox) == 0, "everything is delivered once the link stays up"
            self.nothing_lost_silently()
            assert all(b["n"] != -1 for b in self.handed), "a poisoned spool line was sent"
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


OutboxMachine.TestCase.settings = settings(max_examples=300, stateful_step_count=50, deadline=None)
TestOutbox = OutboxMachine.TestCase
