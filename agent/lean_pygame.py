"""pygame imported for `run` without its sound module, which most boards never use.

`import pygame` loads every submodule it can, pygame.mixer among them, and the mixer
loads SDL_mixer with its codecs (FluidSynth, Vorbis, FLAC, Opus, mpg123, libsndfile):
2.7 MB of RSS here before a sound is played (issue 18: a Pi's 60 MB). The board plays
sound only for clips with `[display] audio = true` (agent/video/audio.py), which imports
pygame.mixer itself when it opens the mixer; the agent never calls `pygame.init()`, so
nothing else would have opened it. pygame is built for a missing mixer: its package
puts a stand-in there that says so if it is used.
"""

from __future__ import annotations

import sys

# pygame.mixer_music is the mixer's part for music files: it goes with it.
SOUND_MODULES = ("pygame.mixer", "pygame.mixer_music")


def import_pygame_without_sound() -> None:
    """Import pygame without its mixer; a later `import pygame.mixer` loads the mixer as
    usual. Nothing is changed once pygame is imported (tests, other commands)."""
    if "pygame" in sys.modules:
        return
    # None in sys.modules makes that import raise ImportError, which pygame's package
    # catches for optional modules; the entries go again so that a later import works.
    blocked = [name for name in SOUND_MODULES if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        import pygame  # noqa: F401  (imported for its side effect: in sys.modules now)
    finally:
        for name in blocked:
            if sys.modules.get(name, sys) is None:
                del sys.modules[name]
