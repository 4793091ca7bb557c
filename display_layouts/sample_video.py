"""A stand-in clip for the gallery, the golden images and the layout tests: a generated
picture per moment (the sample landscape, a bar that runs with the clip's time), drawn by
pygame alone, so that showing the `video` layout needs neither PyAV nor a file."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pygame

from display_layouts.image_formats import RemoteImage

SAMPLE_RATE = 25.0
SAMPLE_SECONDS = 8.0


@dataclass(frozen=True, slots=True)
class SampleClip:
    """A slot value naming a clip, as an `{url, sha256}` reference does."""

    url: str = "https://cdn.example.gov.vn/clips/huong-dan-phong-chong-bao.mp4"
    asset_name: str = "5a3e" * 16


SAMPLE_CLIP = SampleClip()


class SampleVideos:
    """A `VideoSource` (display_layouts/video_source.py) for `SAMPLE_CLIP`."""

    def ready(self, ref: RemoteImage) -> bool:
        return ref.asset_name == SAMPLE_CLIP.asset_name

    def frame_rate(self, ref: RemoteImage) -> float | None:
        return SAMPLE_RATE if self.ready(ref) else None

    def frame(
        self, ref: RemoteImage, size: tuple[int, int], started: datetime, elapsed: float
    ) -> pygame.Surface | None:
        if not self.ready(ref):
            return None
        return sample_picture(size, min(elapsed, SAMPLE_SECONDS) / SAMPLE_SECONDS)


def sample_picture(size: tuple[int, int], progress: float) -> pygame.Surface:
    """A 16:9 landscape letterboxed in `size` (black bars, as the board's player draws),
    with a bar along its bottom `progress` (0-1) of the way across."""
    width, height = size
    surface = pygame.Surface(size)
    surface.fill((0, 0, 0))
    scale = min(width / 16, height / 9)
    box = pygame.Rect(0, 0, max(1, round(16 * scale)), max(1, round(9 * scale)))
    box.center = (width // 2, height // 2)
    picture = surface.subsurface(box)
    w, h = box.size
    picture.fill((110, 170, 220))
    pygame.draw.circle(picture, (255, 214, 90), (round(w * 0.75), round(h * 0.27)), round(h / 7))
    pygame.draw.rect(picture, (58, 140, 82), (0, round(h * 0.57), w, h))
    river = [(0, h), (round(w * 0.31), round(h * 0.63)), (round(w * 0.54), round(h * 0.63)), (w, h)]
    pygame.draw.polygon(picture, (40, 110, 170), river)
    bar = max(1, round(h / 40))
    picture.fill((255, 255, 255), (0, h - bar, round(w * max(0.0, min(1.0, progress))), bar))
    return surface


SAMPLE_VIDEOS = SampleVideos()
