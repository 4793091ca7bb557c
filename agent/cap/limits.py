"""How much of a CAP document the board will look at.

CAP itself sets no limits; these are sized for real alerts (a city warning has a few
areas of tens of points, one `<info>` per language) with generous room, and keep the
cost of a hostile document bounded in time and memory on a small board.
"""

from __future__ import annotations

# A whole document: the JSON alert's 64 KiB plus room for an inline (derefUri) image.
MAX_CAP_BYTES = 256 * 1024
MAX_ELEMENTS = 5_000
# alert/info/area/geocode/value is five deep; a little slack for a signature.
MAX_DEPTH = 10
MAX_INFOS = 16  # one per language
MAX_AREAS = 100  # per <info>
MAX_RESOURCES = 8  # per <info>
MAX_PARAMETERS = 64  # per <info>, and as many event codes
MAX_GEOCODES = 200  # per <area>
MAX_SHAPES = 50  # polygons and circles per <area>
MAX_POLYGON_POINTS = 1_000
MAX_POINTS = 5_000  # all polygons of a document together
MAX_REFERENCES = 200  # Google's profile references every earlier unexpired message
# Segment pairs the self-intersection check may compare in one document: far above
# what real polygons need (the sweep compares only edges that overlap along the longer
# axis: a few per edge), and a bound on a polygon built to make every pair overlap
# (~0.1 s here).
MAX_SEGMENT_COMPARISONS = 50_000
MAX_TEXT_CHARS = 1_024  # any element's text unless named below
MAX_LONG_TEXT_CHARS: dict[str, int] = {
    "description": 16_000,
    "instruction": 8_000,
    "note": 4_000,
    "areaDesc": 4_000,
    "addresses": 8_000,
    "references": 64_000,
    "polygon": MAX_CAP_BYTES,  # bounded by its points instead, which says more
    "derefUri": MAX_CAP_BYTES,
    "value": 4_000,
}
MAX_PROBLEMS = 20  # reported per document; more only repeat the same mistake
