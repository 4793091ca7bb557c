"""A paho client made from the `[mqtt]` settings: protocol, credentials and TLS.

Shared by the link and `doctor`, so that both connect the way the board does.
"""

from __future__ import annotations

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from agent.config import MqttConfig
from agent.mqtt_tls import tls_context
from agent.mqtt_wire import PAHO_PROTOCOL, ProtocolName


def first_protocol(cfg: MqttConfig) -> ProtocolName:
    return "3.1.1" if cfg.protocol == "3.1.1" else "5"


def new_client(
    cfg: MqttConfig,
    client_id: str,
    protocol: ProtocolName | None = None,
    *,
    persistent: bool = False,
) -> mqtt.Client:
    """A client with the configured protocol, credentials and TLS (shared with `doctor`).

    `persistent`: under 3.1.1 the broker keeps the session (clean_session false), as the
    session expiry property does under MQTT 5.
    """
    version = protocol or first_protocol(cfg)
    if version == "5":
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    else:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv311,
            clean_session=not persistent,
        )
    client.connect_timeout = cfg.connect_timeout_s  # TCP connect and TLS handshake
    if cfg.username is not None:
        client.username_pw_set(cfg.username, cfg.password())
    if cfg.tls:
        # The context doctor checks with (agent/mqtt_tls.py): hostname verified, TLS 1.2+.
        client.tls_set_context(tls_context(cfg))
    return client


def switch_protocol(client: mqtt.Client, protocol: ProtocolName, *, persistent: bool) -> None:
    """Make the next connect attempt of `client` speak `protocol`.

    paho fixes the version in its constructor and has no setter; a new client would lose
    what the old one holds, so the (stable since 1.x) private fields are set instead.
    """
    client._protocol = PAHO_PROTOCOL[protocol]
    client._clean_session = not persistent
