"""pygame imported for `run` without its sound module, which most boards never use.

`import pygame` loads every submodule it can, pygame.mixer among them, and the mixer
loads SDL_mixer with its codecs (FluidSynth, Vorbis, FLAC, Opus, mpg123, libsndfile):
2.7 MB of RSS here before a sound is played (issue 18: a Pi's 60 MB). The board plays
sound only for clips with `[display] audio = true` (agent/video/audio.py), which calls
`load_mixer` before it opens the mixer; the agent never calls `pygame.init()`, so
nothing else would have opened it. pygame is built for a missing mixer: its package
puts a stand-in there that says so if it is used.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

# pygame.mixer_music is the mixer's part for music files: it goes with it.
SOUND_MODULES = ("pygame.mixer", "pygame.mixer_music")


def import_pygame_without_sound() -> None:
    """Import pygame without its mixer. Nothing is changed once pygame is imported
    (tests, other commands)."""
    if "pygame" in sys.modules:
        return
    # None in sys.modules makes that import raise ImportError, which pygame's package
    # catches for optional modules. The entries stay until `load_mixer`: pygame.quit(),
    # which pygame runs at exit, imports each of its modules to quit it, and would load
    # the mixer then.
    for name in SOUND_MODULES:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]
    import pygame  # noqa: F401  (imported for its side effect: in sys.modules now)


def load_mixer() -> ModuleType:
    """pygame.mixer, imported now if `run` left it out (it is `pygame.mixer` after)."""
    for name in SOUND_MODULES:
        if name in sys.modules and sys.modules[name] is None:
            del sys.modules[name]
    return importlib.import_module("pygame.mixer")
