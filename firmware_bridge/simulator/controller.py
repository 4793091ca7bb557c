"""A simulated controller at the far end of a pty: the agent opens the pty's slave like
a USB adapter, the simulator reads the master at the modelled line rate.

A pty carries bytes as fast as both sides go; a real line carries baud / bits-per-byte
bytes a second. The simulator only takes bytes off the pty as fast as the line would
deliver them, so the agent's writes back up in the kernel exactly as they would on a
UART. `unplug()` closes the pty (the agent's reads and writes fail as with a pulled
adapter); `replug()` opens a new one behind the same stable link path.
"""

from __future__ import annotations

import contextlib
import io
import os
import select
import termios
import threading
import time
import tty
from collections.abc import Callable
from pathlib import Path
from typing import Generic, Literal, TypeVar, overload

from firmware_bridge.frame import PanelFrame, to_surface
from firmware_bridge.protocols.common import ColorModel
from firmware_bridge.simulator.alpha_sign import AlphaSign
from firmware_bridge.simulator.stats import PanelModel, SignStats
from firmware_bridge.simulator.tpm2_panel import Tpm2Panel

POLL_S = 0.05
CHUNK_S = 0.0005  # line time taken off the pty at once: fine enough for frame timing

FrameListener = Callable[[float, PanelFrame], None]
Model = TypeVar("Model", bound=PanelModel)


class ControllerSimulator(Generic[Model]):
    def __init__(
        self,
        model_factory: Callable[[], Model],
        *,
        baud: int = 115200,
        bits_per_byte: int = 10,
        link: Path | None = None,
        on_frame: FrameListener | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`link`: a stable path (symlink) to the current pty, which survives replugging;
        `on_frame(time, shown)` is called on the simulator's thread at each new frame."""
        self._model_factory = model_factory
        self.model = model_factory()
        self.bytes_per_second = baud / bits_per_byte
        self.baud = baud
        self.link = link
        self.on_frame = on_frame
        self.clock = clock
        self.bytes_received = 0
        self.baud_mismatch: int | None = None  # the baud the agent set, when it is not ours
        self._changed = threading.Condition()
        self._running = threading.Event()
        self._thread: threading.Thread | None = None
        self._master = -1
        self._slave = -1
        self._slave_name = ""

    # --- plugging ----------------------------------------------------------------------------

    @property
    def port(self) -> str:
        return str(self.link) if self.link is not None else self._slave_name

    def start(self) -> str:
        """Opens the pty and starts listening; returns the path the agent should open."""
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # no echo, no line editing: until the agent sets its own
        self._slave_name = os.ttyname(self._slave)
        if self.link is not None:
            temporary = self.link.with_name(self.link.name + ".new")
            temporary.unlink(missing_ok=True)
            temporary.symlink_to(self._slave_name)
            temporary.replace(self.link)
        self._running.set()
        self._thread = threading.Thread(target=self._listen, name="controller-sim", daemon=True)
        self._thread.start()
        return self.port

    def unplug(self) -> None:
        """Pull the adapter: the pty disappears, the agent's port fails."""
        self._running.clear()
        if self._thread is not None:
            self._thread.join()
        for fd in (self._master, self._slave):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = self._slave = -1
        if self.link is not None:
            self.link.unlink(missing_ok=True)

    def replug(self, *, power_cycled: bool = False) -> str:
        """Plug it back in (a new pty behind the same link); `power_cycled`: the sign
        forgot everything, as after a power cut."""
        if power_cycled:
            with self._changed:
                self.model = self._model_factory()
        return self.start()

    stop = unplug

    # --- observing -----------------------------------------------------------------------------

    @property
    def stats(self) -> SignStats:
        return self.model.stats

    def shown(self) -> PanelFrame:
        with self._changed:
            return self.model.shown()

    def wait_until(
        self, predicate: Callable[[ControllerSimulator[Model]], bool], timeout: float
    ) -> bool:
        """Wait until `predicate(self)` holds (checked at each packet); False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: predicate(self), timeout)

    def save_png(self, path: Path, scale: int = 1) -> None:
        import pygame

        image = to_surface(self.shown())
        if scale > 1:
            image = pygame.transform.scale_by(image, scale)
        buffer = io.BytesIO()
        pygame.image.save(image, buffer, "png")  # by the hint: a temporary name says nothing
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_bytes(buffer.getvalue())
        temporary.replace(path)  # a viewer never sees half a PNG

    # --- the line -------------------------------------------------------------------------------

    def _listen(self) -> None:
        """Bytes arrive one chunk at a time, each when the line would have delivered its
        last byte. The line runs on without a break only while bytes were waiting (the
        last read took a whole chunk); otherwise it was idle and starts again now — a
        real line never catches up on time it spent idle."""
        chunk = max(1, int(self.bytes_per_second * CHUNK_S))
        free_at, backlog = self.clock(), False
        while self._running.is_set():
            if not select.select([self._master], [], [], POLL_S)[0]:
                backlog = False
                continue
            try:
                data = os.read(self._master, chunk)
            except OSError:
                return
            start = free_at if backlog else max(free_at, self.clock())
            free_at = start + len(data) / self.bytes_per_second
            backlog = len(data) == chunk
            delay = free_at - self.clock()
            if delay > 0:
                time.sleep(delay)
            self._arrived(data)

    def _arrived(self, data: bytes) -> None:
        if not self.bytes_received:
            self._check_baud()
        self.bytes_received += len(data)
        with self._changed:
            frames = self.model.stats.frames
            replies = self.model.receive(data, self.clock())
            new_frame = self.model.stats.frames != frames
            shown = self.model.shown() if new_frame and self.on_frame else None
            self._changed.notify_all()
        if replies:
            with contextlib.suppress(OSError):
                os.write(self._master, replies)
        if shown is not None and self.on_frame is not None:
            self.on_frame(self.clock(), shown)

    def _check_baud(self) -> None:
        """A pty carries any baud rate; a real sign at another rate would read garbage."""
        with contextlib.suppress(OSError, termios.error):
            speed = termios.tcgetattr(self._slave)[5]
            wanted = getattr(termios, f"B{self.baud}", None)
            if wanted is not None and speed != wanted:
                self.baud_mismatch = speed
                self.model.stats.problem(
                    f"the agent set another baud rate than this controller's {self.baud}: "
                    "a real one would read garbage"
                )


SimulatedProtocol = Literal["tpm2", "alpha"]
AnySimulator = ControllerSimulator[AlphaSign] | ControllerSimulator[Tpm2Panel]


@overload
def simulator(
    protocol: Literal["alpha"],
    size: tuple[int, int],
    *,
    baud: int = ...,
    bits_per_byte: int = ...,
    color: ColorModel = ...,
    ack: bool = ...,
    link: Path | None = ...,
    on_frame: FrameListener | None = ...,
) -> ControllerSimulator[AlphaSign]: ...


@overload
def simulator(
    protocol: Literal["tpm2"],
    size: tuple[int, int],
    *,
    baud: int = ...,
    bits_per_byte: int = ...,
    color: ColorModel = ...,
    ack: bool = ...,
    link: Path | None = ...,
    on_frame: FrameListener | None = ...,
) -> ControllerSimulator[Tpm2Panel]: ...


@overload
def simulator(
    protocol: SimulatedProtocol,
    size: tuple[int, int],
    *,
    baud: int = ...,
    bits_per_byte: int = ...,
    color: ColorModel = ...,
    ack: bool = ...,
    link: Path | None = ...,
    on_frame: FrameListener | None = ...,
) -> AnySimulator: ...


def simulator(
    protocol: SimulatedProtocol,
    size: tuple[int, int],
    *,
    baud: int = 115200,
    bits_per_byte: int = 10,
    color: ColorModel = "tricolor",
    ack: bool = True,
    link: Path | None = None,
    on_frame: FrameListener | None = None,
) -> AnySimulator:
    """A simulator (not started) for `protocol` on a panel of `size`; `color` is an Alpha
    sign's (mono or tricolor), `ack` whether a TPM2 receiver answers AC."""
    if protocol == "alpha":
        sign_color: ColorModel = "mono" if color == "mono" else "tricolor"
        return ControllerSimulator(
            lambda: AlphaSign(size, color=sign_color),
            baud=baud,
            bits_per_byte=bits_per_byte,
            link=link,
            on_frame=on_frame,
        )
    return ControllerSimulator(
        lambda: Tpm2Panel(size, ack=ack),
        baud=baud,
        bits_per_byte=bits_per_byte,
        link=link,
        on_frame=on_frame,
    )
