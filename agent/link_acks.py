"""The broker's acknowledgements of what the board sends: PUBACK and SUBACK reason codes,
and what a dropped connection says about a packet's size.

A refused publish or subscription is counted (`denied`) and logged once per topic and
reason. Under MQTT 3.1.1 a broker drops an oversize packet by closing the connection at
once, without a reason; under MQTT 5 it says so (0x95) but not the limit. Either way the
packet to blame is among those not yet acknowledged, and what the broker did acknowledge
is a size known to pass.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from agent.clock import Clock
from agent.command_probe import CommandReadProbe, Verdict
from agent.link_health import LinkHealth
from agent.link_messages import Delivered, LinkTrouble
from agent.mqtt_wire import PACKET_TOO_LARGE, ProtocolName

# The link's lines keep the one logger name operators and tests filter on.
log = logging.getLogger("agent.link")

# A message is taken for the culprit of a 3.1.1 drop only when the connection dropped
# within LEARN_WINDOW_S of handing it over, it is bigger than LEARN_FLOOR (heartbeats and
# small events never are) and than anything the broker acknowledged so far: a broker that
# merely restarts while a report is in flight teaches nothing.
LEARN_FLOOR = 2048
LEARN_WINDOW_S = 1.0
PROBE_POLL_S = 0.25  # how often a pending probe's verdict is asked


@dataclass(frozen=True, slots=True)
class Culprit:
    """The packet a dropped connection is blamed on, and the largest size now known to pass."""

    mid: int
    topic: str
    size: int
    limit: int


class BrokerAcks:
    """The packets awaiting the broker's PUBACK or SUBACK, what their reason codes say,
    and the largest packet size a dropped connection taught."""

    def __init__(
        self,
        client: mqtt.Client,
        clock: Clock,
        inbox: queue.Queue[Any],
        health: LinkHealth,
        probe: CommandReadProbe,
    ) -> None:
        self._client = client
        self.probe = probe
        self._probe_said: str | None = None  # the finding last logged
        self._clock = clock
        self._inbox = inbox
        self._health = health
        # Written by the core's thread (publish) and paho's (acknowledgements): one lock.
        self._lock = threading.Lock()
        self._unacked: dict[int, tuple[str, int, float]] = {}  # mid → (topic, size, handed at)
        self._largest_acked = 0
        self._pending_subscriptions: dict[int, list[str]] = {}
        self.learned_max_packet: int | None = None  # what a dropped connection taught

    def track(self, mid: int, topic: str, size: int, qos: int) -> None:
        """Remember what a message id was, for its PUBACK's reason code."""
        if qos == 0:  # no PUBACK will come
            return
        with self._lock:
            self._unacked[mid] = (topic, size, self._clock.monotonic())

    def subscribing(self, mid: int, topics: list[str], *, fresh: bool = True) -> None:
        """A SUBSCRIBE: its SUBACK answers for these topics, in order. A new connection's
        (`fresh`) forgets what an earlier one left unanswered; a re-subscription after an
        assignment (agent/link_subscriptions.py) adds to what is pending."""
        if fresh:
            self._pending_subscriptions = {mid: topics}
        else:
            self._pending_subscriptions = {**self._pending_subscriptions, mid: topics}

    def on_subscribe(
        self,
        _client: mqtt.Client,
        _userdata: Any,
        mid: int,
        reasons: list[ReasonCode],
        _props: Properties | None,
    ) -> None:
        try:
            topics = self._pending_subscriptions.pop(mid, [])
            for topic, reason in zip(topics, reasons, strict=False):
                # MQTT 3.1.1 SUBACK 0x80 arrives as a failing reason code as well.
                if reason.is_failure:
                    self._deny(f"read {topic}", str(reason))
        except Exception:
            log.exception("error in MQTT on_subscribe")

    def on_publish(
        self,
        _client: mqtt.Client,
        _userdata: Any,
        mid: int,
        _reason: ReasonCode,
        _props: Properties | None,
    ) -> None:
        if self.probe.acknowledged(mid, not _reason.is_failure, str(_reason)):
            return  # the probe's own PUBACK: not a report, and its refusal no denial
        self._acknowledged(mid, _reason)  # connection side: reason codes (never raises)
        try:
            self._inbox.put_nowait(Delivered(mid))  # the core's queue is unbounded: never blocks
        except Exception:
            log.exception("error in MQTT on_publish")

    def _acknowledged(self, mid: int, reason: ReasonCode) -> None:
        """A PUBACK: a failing reason code (MQTT 5) is a denial, counted and reported."""
        with self._lock:
            sent = self._unacked.pop(mid, None)
            if sent is not None and not reason.is_failure:
                self._largest_acked = max(self._largest_acked, sent[1])
        if reason.is_failure and sent is not None:
            self._deny(f"write {sent[0]}", str(reason))

    def send_probe(self, client: mqtt.Client, *, qos: int, verifiable: bool) -> None:
        """After the subscriptions (the broker handles them first): see command_probe."""
        info = client.publish(self.probe.topic, self.probe.payload(), qos=qos, retain=False)
        self.probe.sent(info.mid, self._clock.monotonic(), verifiable=verifiable)

    def judge_probe(self, now: float) -> float | None:
        """The command probe's finding (the supervisor asks): a denial like a refused
        publish, else one line when the finding changes. Returns when to be asked again
        (None: not on this connection). The probe's coming back and its PUBACK are paho's
        thread's news, not deadlines: a pending probe is asked every PROBE_POLL_S, as it
        was, for the few seconds it is pending."""
        verdict = self.probe.verdict(now)
        if verdict is None:
            return now + PROBE_POLL_S if self.probe.pending() else None
        self._said(verdict)
        return None

    def _said(self, verdict: Verdict) -> None:
        what = f"read {self.probe.topic}"
        if verdict.finding == "denied":
            self._deny(what, verdict.reason)
            return
        if verdict.finding == "proven" and self._health.denials.pop(what, None) is not None:
            log.info("MQTT broker delivers commands again: %s", verdict.reason)
            with contextlib.suppress(queue.Full):
                self._inbox.put_nowait(LinkTrouble(f"allowed {what}"))
        if self._probe_said != verdict.finding:
            self._probe_said = verdict.finding
            if verdict.finding == "proven":
                log.info("MQTT read permission on commands proven: %s", verdict.reason)
            else:
                log.info("MQTT read permission on commands not testable: %s", verdict.reason)

    def _deny(self, what: str, reason: str) -> None:
        if not self._health.deny(what, reason):
            return
        log.warning("MQTT broker denies %s: %s (check the broker's ACL)", what, reason)
        self._health.note_error(f"broker denies {what}: {reason}")
        # When the queue is full, STATUS= is refreshed with the next heartbeat anyway.
        with contextlib.suppress(queue.Full):
            self._inbox.put_nowait(LinkTrouble(f"denied {what}"))

    def forget_oversize(
        self, reason: ReasonCode, *, from_broker: bool, protocol: ProtocolName
    ) -> Culprit | None:
        """After a broker dropped us for a packet's size: learn the size, drop the packet.

        paho would resend it after reconnecting and lose the connection again, forever.
        Returns the packet blamed, or None when the drop is not put down to a size.
        """
        too_large = from_broker and reason.value == PACKET_TOO_LARGE
        unexplained = protocol == "3.1.1" and not from_broker
        if not (too_large or unexplained):
            return None
        culprit = self._blame(too_large=too_large)
        if culprit is None:
            return None
        limit = culprit.limit
        self.learned_max_packet = min(limit, self.learned_max_packet or limit)
        out = getattr(self._client, "_out_messages", None)  # paho's resend queue
        lock = getattr(self._client, "_out_message_mutex", None)
        if out is not None and lock is not None:
            with lock:
                out.pop(culprit.mid, None)
        self._health.too_large += 1
        self._inbox.put(Delivered(culprit.mid))  # the outbox lets it go (it cannot ever be sent)
        return culprit

    def _blame(self, *, too_large: bool) -> Culprit | None:
        """The packet a dropped connection is blamed on, forgotten here; None when none is.

        `too_large`: the broker said so (0x95): the biggest packet in flight is to blame.
        Otherwise (a 3.1.1 close) only a recent one bigger than anything acknowledged.
        """
        with self._lock:
            if not self._unacked:
                return None
            mid, (topic, size, handed) = max(self._unacked.items(), key=lambda e: e[1][1])
            recent = self._clock.monotonic() - handed < LEARN_WINDOW_S
            if not too_large and (size <= max(LEARN_FLOOR, self._largest_acked) or not recent):
                return None
            del self._unacked[mid]
            # 0x95 says only "smaller than this"; so does a 3.1.1 close. What the broker
            # took is certain: nothing bigger than that is sent again (no second loss).
            # Reports up to LEARN_FLOOR always go (a broker taking less is not usable).
            limit = min(max(self._largest_acked, LEARN_FLOOR), size - 1)
        return Culprit(mid, topic, size, limit)
