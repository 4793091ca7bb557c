"""The broker side of the core: the MQTT link and the outbox behind it, as one part.

Link state changes reach the outbox (online: hand over what waits; offline: spool), the
events of alerts restored at start wait for the first connection (spooling thousands of
them one fsync each held the connection back for seconds — minutes on an SD card), and
at shutdown what the broker confirmed while the link stopped is not spooled again.
Without `[mqtt]` there is neither (inbox only): events are only logged.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import tzinfo
from typing import Literal

from agent.events import Events
from agent.health import mqtt_health
from agent.inflow import Inflow
from agent.link import MqttLink
from agent.link_messages import Delivered, LinkDown, LinkUp, Received
from agent.messages import EventBase, MqttHealth
from agent.outbox import Outbox

log = logging.getLogger(__name__)


class BrokerSide:
    def __init__(
        self, events: Events, inflow: Inflow, link: MqttLink | None, outbox: Outbox | None
    ) -> None:
        self.events = events
        self.inflow = inflow
        self.link = link
        self.outbox = outbox
        self.restored: list[EventBase] = []  # events of restored alerts, for the first LinkUp

    def hold_restored(self, restored: list[EventBase]) -> None:
        """The events of the alerts restored at start: said now without a broker, else
        at the first connection."""
        if self.link is None:
            self.events.emit_all(restored)
        else:
            self.restored = restored

    def start(self, stack: contextlib.ExitStack) -> None:
        """Connect (paho's thread); the link's stop goes on the stack."""
        link = self.link
        if link is None:
            return
        # Stopped first: it publishes `offline` and waits for its PUBACK; the broker
        # acknowledges in order, so what was handed over before it (a `restart` result)
        # is confirmed by then, and `spool` keeps only the rest.
        stack.callback(link.stop)
        link.start()

    def spool(self) -> None:
        """After the link stopped: what the broker confirmed while stopping is neither
        spooled nor sent twice; what it has not confirmed survives the restart."""
        if self.outbox is None:
            return
        for mid in self.inflow.deliveries():
            self.outbox.delivered(mid)
        self.outbox.link_down()

    def on_link(self, message: LinkUp | LinkDown | Delivered) -> bool:
        """A change of the link's state; True when the status line changed with it."""
        outbox = self.outbox
        match message:
            case LinkUp(since=since):
                log.info("connected to the broker since %s", since.isoformat())
                if outbox is not None:
                    outbox.link_up()
                restored, self.restored = self.restored, []
                self.events.emit_all(restored)  # alerts active since before the restart
            case LinkDown(reason=reason):
                log.warning("broker connection lost (%s); showing cached content", reason)
                if outbox is not None:
                    outbox.link_down()
            case Delivered(mid=mid):
                if outbox is not None:
                    outbox.delivered(mid)
                return False
        return True

    def handled(self, message: Received) -> None:
        """Handled (and persisted): only now may the broker forget it."""
        if self.link is not None:
            self.link.ack(message)

    def publish(self, topic: str, payload: bytes) -> None:
        """Straight to the broker when connected (screenshots); lost when not."""
        if self.link is not None and self.link.connected:
            self.link.publish(topic, payload)

    def progress(self, allowed_s: float) -> bool:
        return self.link is None or self.link.making_progress(allowed_s)

    def state(self) -> Literal["none", "online", "offline"]:
        link = self.link
        return "none" if link is None else ("online" if link.connected else "offline")

    def trouble(self) -> str | None:
        return self.link.problems() if self.link is not None else None

    def health(self, tz: tzinfo) -> MqttHealth | None:
        return mqtt_health(self.link, tz, self.outbox)
