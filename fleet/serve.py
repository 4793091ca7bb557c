"""Placeholder: written by the fleet's serve work (this wave's issue 15)."""

from __future__ import annotations

import argparse


def serve(args: argparse.Namespace) -> int:
    raise NotImplementedError("signage-fleet serve is not built yet")
