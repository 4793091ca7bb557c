"""Problems with an input, worded for whoever wrote it: one type, one exception, one
translation of pydantic's errors and one "did you mean …?" for configs, payloads,
layouts and previews alike.

A leaf package (the standard library and pydantic only) so that `agent`,
`display_layouts` and `firmware_bridge` may all use it: none of them imports upwards.
"""

from __future__ import annotations

from display_layouts.input_problems.problem import (
    ROOT,
    Problem,
    Problems,
    did_you_mean,
    printable,
)
from display_layouts.input_problems.translate import (
    Loc,
    dotted,
    from_validation,
    named_pattern,
    translate,
)

__all__ = [
    "ROOT",
    "Loc",
    "Problem",
    "Problems",
    "did_you_mean",
    "dotted",
    "from_validation",
    "named_pattern",
    "printable",
    "translate",
]
