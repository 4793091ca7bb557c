"""`[serial]` keys of TPM2 controllers. The protocol's code (`tpm2.py`) is loaded only
when a board opens its controller; these are loaded with the config."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from firmware_bridge.protocols.common import AckPolicy, LineNeeds, ProtocolSettings, choice


class Tpm2Settings(ProtocolSettings):
    LINE: ClassVar[LineNeeds] = LineNeeds(
        data_bits=frozenset((8,)),
        data_bits_why="TPM2 frames are binary: the line needs 8 data bits",
    )

    protocol: Literal["tpm2"]
    # The controller may answer `AC` after each frame; "auto" waits once it has seen one.
    ack: Annotated[AckPolicy, choice(AckPolicy, "an acknowledgement policy")] = "auto"
    ack_timeout_s: Annotated[float, Field(gt=0, le=10)] = 0.25  # beyond transmission time

    @property
    def ack_policy(self) -> AckPolicy:
        return self.ack

    @property
    def ack_timeout(self) -> float:
        return self.ack_timeout_s
