"""Placeholder: written by the fleet's publish work (this wave's issue 15)."""

from __future__ import annotations

import argparse


def publish(args: argparse.Namespace) -> int:
    raise NotImplementedError("signage-fleet publish is not built yet")
