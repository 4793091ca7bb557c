"""What other threads put on the core's queue: one closed union, dispatched exhaustively.

paho's thread puts the link's messages, the inbox watcher its files, the asset fetcher
its results, the serial writer its link changes, the alert-feed poller its CAP documents
and restarts, signal handlers `Wake` and `Reload`.
A new kind of message is added here, and mypy then names every `match` that misses it.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.assets import AssetFailure, AssetReady, FetcherRestarted
from agent.feed_reports import FeedAlert, FeedPollerRestarted
from agent.inbox import InboxFile
from agent.link_messages import Delivered, LinkDown, LinkTrouble, LinkUp, Received
from firmware_bridge.events import SerialLinkChanged, SerialProblem


@dataclass(frozen=True, slots=True)
class Wake:
    """Put on the queue to make the loop look at its flags now (signals)."""


@dataclass(frozen=True, slots=True)
class Reload:
    """SIGHUP: read the layouts again."""


CoreMessage = (
    Received
    | LinkUp
    | LinkDown
    | Delivered
    | LinkTrouble
    | InboxFile
    | AssetReady
    | AssetFailure
    | FetcherRestarted
    | FeedAlert
    | FeedPollerRestarted
    | SerialLinkChanged
    | SerialProblem
    | Reload
    | Wake
)
