"""Placeholder (owned by the web work): the FastAPI application."""

from __future__ import annotations

from fastapi import FastAPI

from fleet.commands import CommandSender
from fleet.live import Changes
from fleet.store.db import Store


def create_app(store: Store, changes: Changes, commands: CommandSender | None) -> FastAPI:
    return FastAPI(title="signage-fleet")
