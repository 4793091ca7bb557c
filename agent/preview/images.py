"""The pictures a preview's image slots name, made drawable as a board would get them.

- A path to a picture on this computer (relative to the content file, or absolute) is
  embedded as a `data:` URI, after the board's own checks of inline pictures: PNG or
  JPEG by its first bytes, at most 512 KiB, its size from the header within the limits,
  one bounded decode. Nothing larger is read.
- A URL — `{"url": …, "sha256": …}` as a playlist sends it, or a plain http(s) URL while
  its author does not know the digest yet — is fetched with the board's own downloader
  (its size limit, deadlines and redirect rules, its picture check; the SHA-256 checked
  when given) into a temp folder kept for the session, so that `--watch` does not fetch
  it again on every save. Failures are not remembered: a server put right is asked again.

A plain URL, a URL without its digest, or a path is no value a board takes: the preview
draws it and says, once, what a playlist must carry instead.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import stat
import tempfile
import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.assets.download import DownloadError, FetchSettings, download
from agent.content import MAX_IMAGE_BYTES
from agent.preview.slot_values import Unusable, remote_value, replace_slots
from display_layouts.image_check import check_image
from display_layouts.image_formats import FORMATS, format_of, is_data_uri
from display_layouts.spec import LayoutSpec, SlotKind
from signage_base.portable import READ_FLAGS

if TYPE_CHECKING:
    from display_layouts.image_formats import RemoteImage

# The board's download limits; a shorter whole deadline, as someone is waiting.
PREVIEW_FETCH = FetchSettings(deadline_s=60.0, workers=1)
_URL = re.compile(r"^https?://", re.IGNORECASE)
_KINDS = " or ".join(known.name for known in FORMATS)


class PictureStore:
    """The pictures of one preview session: fetched files by their SHA-256, and the
    notes already said."""

    def __init__(self, settings: FetchSettings = PREVIEW_FETCH) -> None:
        self.settings = settings
        self._folder: Path | None = None
        self._fetched: dict[tuple[str, str | None], str] = {}  # (url, sha256) -> digest
        self._files: dict[str, Path] = {}  # digest -> the verified file
        self._said: set[str] = set()
        self._notes: list[str] = []

    def source(self, image: RemoteImage) -> Path | None:
        """The renderer's image source: the fetched file of a remote image."""
        return self._files.get(image.asset_name)

    def take_notes(self) -> list[str]:
        """What a board would need instead of what the preview drew, each said once."""
        notes, self._notes = self._notes, []
        return notes

    def drawable(
        self, spec: LayoutSpec, fields: Mapping[str, Any], base: Path | None
    ) -> dict[str, Any]:
        """`fields` with each image slot's path or URL replaced by what the board draws;
        `InvalidInput` naming the slot and the file or URL that cannot be used. Other
        values are left for the board's checks."""
        return replace_slots(spec, fields, SlotKind.IMAGE, self._drawable, base)

    def _drawable(self, name: str, value: object, base: Path | None) -> object:
        if isinstance(value, dict):
            return remote_value(value, lambda url, sha256: self._remote(name, url, sha256))
        if not isinstance(value, str) or not value.strip() or is_data_uri(value):
            return value
        if _URL.match(value):
            return self._remote(name, value, None)
        return self._embedded(name, value, base)

    def _remote(self, name: str, url: str, sha256: str | None) -> dict[str, str]:
        digest = self._fetched.get((url, sha256))
        if digest is None:
            digest = self._fetch(url, sha256)
            self._fetched[(url, sha256)] = digest
        if sha256 is None:
            self._note(
                f"fields.{name}: a board needs the picture's SHA-256 too: "
                f'{{"url": "{url}", "sha256": "{digest}"}}'
            )
        return {"url": url, "sha256": digest}

    def _fetch(self, url: str, sha256: str | None) -> str:
        folder = self._session_folder()
        handle, partial = tempfile.mkstemp(dir=folder, suffix=".part")
        try:
            with os.fdopen(handle, "w+b") as sink:
                digest = download(url, sha256, self.settings, sink)
        except DownloadError as exc:
            Path(partial).unlink(missing_ok=True)
            raise Unusable(f"{url}: {exc}") from None
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise
        path = folder / digest
        Path(partial).replace(path)
        self._files[digest] = path
        return digest

    def _embedded(self, name: str, value: str, base: Path | None) -> str:
        path = Path(value).expanduser()
        if not path.is_absolute() and base is not None:
            path = base / path
        data = _read_picture(path)
        kind = format_of(data)
        if kind is None:
            raise Unusable(f"{path}: not a {_KINDS} picture")
        problem = check_image(data)
        if problem is not None:
            raise Unusable(f"{path}: {problem}")
        self._note(
            f"fields.{name}: {path} is drawn embedded as a data: URI of "
            f"{len(data) // 1024 + 1} KiB; a playlist must carry it so (or as a url and sha256)"
        )
        return f"data:{kind.mime};base64,{base64.b64encode(data).decode('ascii')}"

    def _note(self, note: str) -> None:
        if note not in self._said:
            self._said.add(note)
            self._notes.append(note)

    def _session_folder(self) -> Path:
        if self._folder is None:
            self._folder = Path(tempfile.mkdtemp(prefix="signage-preview-"))
            # Removed with the session (or at exit): a preview leaves no files behind.
            weakref.finalize(self, shutil.rmtree, self._folder, ignore_errors=True)
        return self._folder


def _read_picture(path: Path) -> bytes:
    """At most the board's inline limit of `path`'s bytes: a regular file, not read at all
    when it is larger (a FIFO must not hang the preview, nor a huge file fill memory)."""
    try:
        fd = os.open(path, READ_FLAGS)
    except FileNotFoundError:
        raise Unusable(f"no picture file {path}") from None
    except OSError as exc:
        raise Unusable(f"{path}: cannot be read ({exc.strerror or exc})") from None
    with os.fdopen(fd, "rb") as file:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise Unusable(f"{path}: not a picture file")
        if info.st_size > MAX_IMAGE_BYTES:
            raise Unusable(
                f"{path} is {info.st_size // 1024} KiB; a board takes pictures inline up to "
                f"{MAX_IMAGE_BYTES // 1024} KiB (make it smaller, or serve it: a url and sha256)"
            )
        data = file.read(MAX_IMAGE_BYTES + 1)
    if len(data) > MAX_IMAGE_BYTES:  # it grew while being read
        raise Unusable(f"{path}: larger than {MAX_IMAGE_BYTES // 1024} KiB")
    return data
