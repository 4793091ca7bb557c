"""How the web page sends a command to a board (the MQTT side is `fleet.mqtt_publish`)."""

from __future__ import annotations

from typing import Any, Protocol


class PublishFailed(Exception):
    """The broker did not take the message (unreachable, refused, timed out)."""


class CommandSender(Protocol):
    def send_command(
        self, board_id: str, command_id: str, command: str, args: dict[str, Any]
    ) -> None:
        """Publish `{"type":"command","id":command_id,...}` to the board's cmd topic (QoS 1)
        and return once the broker acknowledged it; raise PublishFailed otherwise."""
