"""Placeholder (owned by the publish work): an MQTT publisher for the fleet.

`MqttCommandSender(host, port, root)` implements `fleet.commands.CommandSender`; it has
`close()`.
"""

from __future__ import annotations

from typing import Any

from fleet.commands import PublishFailed


class MqttCommandSender:
    def __init__(self, host: str, port: int, root: str) -> None:
        self.host, self.port, self.root = host, port, root

    def send_command(
        self, board_id: str, command_id: str, command: str, args: dict[str, Any]
    ) -> None:
        raise PublishFailed("not built yet")

    def close(self) -> None:
        pass
