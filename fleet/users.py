"""Placeholder: written by the fleet's users work (this wave's issue 15)."""

from __future__ import annotations

import argparse


def users_add(args: argparse.Namespace) -> int:
    raise NotImplementedError("signage-fleet users is not built yet")
