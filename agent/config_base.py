"""What every section of the agent's configuration is: frozen, strict, finite (shared by
agent/config.py and the section modules beside it)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    # TOML allows nan and inf: no number in the config may be anything but finite.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, defer_build=True)
