"""Layout files: the built-in ones, validation errors people can act on, the library."""

from __future__ import annotations

import io
import re
import textwrap
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.validate import validate_files
from display_layouts.catalog import BUILTIN_LAYOUTS, LayoutError, load_library
from display_layouts.library import BUILTIN_DIR, builtin_library
from display_layouts.loader import _read_yaml, load_layout_file, parse_layout
from display_layouts.spec import SlotKind
from display_layouts.zones import zone_types

REPO = Path(__file__).resolve().parents[1]
TEXT, IMAGE = SlotKind.TEXT, SlotKind.IMAGE

GOOD = """\
name: notice_qr
purpose: A notice with a QR code to the commune's website.
zones:
  - name: body
    type: text
    box: [0, 0, 70, 100]
    text: "{body}"
  - name: code
    type: qr
    box: [70, 0, 30, 100]
    data: "{link}"
    optional: true
"""


def problems(text: str, stem: str | None = None) -> list[str]:
    with pytest.raises(LayoutError) as caught:
        parse_layout(textwrap.dedent(text), "my.yaml", stem=stem)
    return caught.value.problems


def one_problem(text: str) -> str:
    found = problems(text)
    assert len(found) == 1, found
    return found[0]


def with_zones(zones: str, **top: str) -> str:
    head = {"name": "t", "purpose": "test", **top}
    lines = "".join(f"{key}: {value}\n" for key, value in head.items())
    return lines + "zones:\n" + textwrap.indent(textwrap.dedent(zones), "  ")


# --- the built-in layouts -----------------------------------------------------------------

# CONTRACT §4, with the slots the alert layouts get from an alert.
CONTRACT = {
    "fullscreen_text": {"text": (TEXT, True), "title": (TEXT, False)},
    "headline": {
        "title": (TEXT, True),
        "body": (TEXT, True),
        "image": (IMAGE, False),
        "ticker": (TEXT, False),
    },
    "image_caption": {"image": (IMAGE, True), "caption": (TEXT, False)},
    "led_text": {"text": (TEXT, True)},
    "video": {"video": (SlotKind.VIDEO, True), "caption": (TEXT, False)},
    "alert_full": {
        "headline": (TEXT, True),
        "description": (TEXT, True),
        "instruction": (TEXT, False),
        "label": (TEXT, False),
        "risk_color": (TEXT, False),
        "risk": (TEXT, False),
        "risk_ink": (TEXT, False),
        "authority": (TEXT, False),
        "issued": (TEXT, False),
        "expires": (TEXT, False),
        "image": (IMAGE, False),  # a CAP <resource> picture, beside the description
    },
    "alert_banner": {
        "risk_color": (TEXT, False),
        "label": (TEXT, False),
        "risk": (TEXT, False),
        "risk_ink": (TEXT, False),
        "headline": (TEXT, True),
        "description": (TEXT, True),
    },
    "idle": {},
}


def test_builtin_layouts_have_the_contracts_slots() -> None:
    assert set(BUILTIN_LAYOUTS) == set(CONTRACT)
    for name, spec in BUILTIN_LAYOUTS.items():
        slots = {slot.name: (slot.kind, slot.required) for slot in spec.slots}
        assert slots == CONTRACT[name], name


def test_reserved_layouts_stay_reserved() -> None:
    reserved = {name for name, spec in BUILTIN_LAYOUTS.items() if spec.reserved}
    assert reserved == {"alert_full", "alert_banner", "idle"}


def test_alert_banner_is_an_overlay() -> None:
    layout = builtin_library().get("alert_banner")
    assert layout is not None
    assert layout.base.background is None


@pytest.mark.parametrize("path", sorted(BUILTIN_DIR.glob("*.yaml")), ids=lambda p: p.stem)
def test_builtin_files_validate_on_their_own(path: Path) -> None:
    out = io.StringIO()
    assert validate_files([path], out) == 0, out.getvalue()
    assert f"ok (layout {path.stem}" in out.getvalue()


@pytest.mark.parametrize("path", sorted(BUILTIN_DIR.glob("*.yaml")), ids=lambda p: p.stem)
def test_builtin_files_read_by_libyaml_as_by_the_bounded_loader(path: Path) -> None:
    # The board reads its own layouts with libyaml (start-up time); what it reads must be
    # what the bounded pure-Python loader, which every other file goes through, reads.
    text = path.read_text(encoding="utf-8")
    assert _read_yaml(text, str(path), None, trusted=True) == _read_yaml(text, str(path), None)
    assert load_layout_file(path, trusted=True) == load_layout_file(path)


def test_every_zone_type_registers_itself() -> None:
    assert set(zone_types()) == {"text", "ticker", "clock", "image", "qr", "rect", "video"}


def test_a_good_layout_loads_with_its_slots() -> None:
    layout = parse_layout(GOOD, "notice_qr.yaml", stem="notice_qr")
    assert [(s.name, s.kind, s.required) for s in layout.spec.slots] == [
        ("body", TEXT, True),
        ("link", TEXT, False),
    ]
    assert not layout.spec.reserved


# --- errors name the file, the zone, the field and the line ----------------------------


def test_misspelt_key_gets_did_you_mean_with_zone_and_line() -> None:
    text = GOOD.replace('    text: "{body}"', '    text: "{body}"\n    colr: white')
    assert one_problem(text) == (
        "my.yaml: zone 'body': colr: unknown field 'colr'; did you mean 'color'? (line 8)"
    )


def test_misspelt_required_key_is_not_also_reported_missing() -> None:
    assert one_problem(GOOD.replace("purpose:", "purpse:")) == (
        "my.yaml: purpse: unknown field 'purpse'; did you mean 'purpose'? (line 2)"
    )


def test_unknown_zone_type_gets_did_you_mean() -> None:
    message = one_problem(GOOD.replace("type: qr", "type: qrcode"))
    assert message == (
        "my.yaml: zone 'code': type: unknown zone type 'qrcode'; did you mean 'qr'? (line 9)"
    )


def test_zone_without_type_lists_the_types() -> None:
    message = one_problem(GOOD.replace("    type: qr\n", ""))
    assert "zone 'code': type: missing; zone types: clock, image, qr, rect, text, ticker" in message


def test_out_of_range_box_is_rejected() -> None:
    message = one_problem(GOOD.replace("[70, 0, 30, 100]", "[70, 0, 40, 100]"))
    assert message == (
        "my.yaml: zone 'code': box: x + width is 110: the zone would pass the right edge (100) "
        "(line 10)"
    )
    negative = one_problem(GOOD.replace("[70, 0, 30, 100]", "[70, -5, 30, 100]"))
    assert "x and y are percent of the canvas" in negative


def test_box_must_be_four_numbers() -> None:
    assert "zone 'code': box" in one_problem(GOOD.replace("[70, 0, 30, 100]", "[70, 0, 30]"))


def test_overlapping_zones_are_rejected() -> None:
    message = one_problem(GOOD.replace("[70, 0, 30, 100]", "[60, 0, 30, 100]"))
    assert message == (
        "my.yaml: zone 'code': box: overlaps zone 'body': text and pictures may not overlap "
        "(line 10)"
    )


def test_touching_zones_do_not_overlap() -> None:
    parse_layout(GOOD.replace("[70, 0, 30, 100]", "[70, 0, 30, 50]"), "x.yaml")


def test_a_rect_listed_after_text_would_hide_it() -> None:
    text = GOOD + "  - {name: band, type: rect, box: [0, 0, 50, 20], color: panel}\n"
    assert one_problem(text).startswith(
        "my.yaml: zone 'band': box: this rect would cover zone 'body', listed before it"
    )
    before = GOOD.replace(
        "zones:\n", "zones:\n  - {name: band, type: rect, box: [0, 0, 100, 20], color: panel}\n"
    )
    parse_layout(before, "x.yaml")


def test_growing_into_an_empty_zone_must_not_overlap_a_third() -> None:
    text = with_zones(
        """\
        - {name: a, type: text, box: [0, 0, 100, 30], text: "{a}", takes_room_of: [c]}
        - {name: b, type: text, box: [0, 30, 50, 20], text: "{b}"}
        - {name: c, type: text, box: [0, 50, 100, 50], text: "{c}", optional: true}
        """
    )
    assert "zone 'a' would overlap zone 'b' when it takes the room of 'c'" in one_problem(text)


def test_references_to_unknown_zones_and_slots() -> None:
    text = with_zones(
        """\
        - {name: body, type: text, box: [0, 0, 50, 100], text: "{body}", takes_room_of: [pic]}
        - {name: picture, type: image, box: [50, 0, 50, 100], image: "{image}"}
        - {name: band, type: rect, box: [0, 0, 10, 10], color: accent, when_filled: [imag]}
        """
    )
    found = problems(text)
    assert any(
        "zone 'body': takes_room_of: no other zone 'pic'; did you mean 'picture'?" in p
        for p in found
    )
    assert any(
        "zone 'band': when_filled: no zone shows slot 'imag'; did you mean 'image'?" in p
        for p in found
    )


def test_a_slot_is_text_or_image_not_both() -> None:
    text = with_zones(
        """\
        - {name: a, type: text, box: [0, 0, 50, 100], text: "{photo}"}
        - {name: b, type: image, box: [50, 0, 50, 100], image: "{photo}"}
        """
    )
    assert "slot 'photo' is shown as text elsewhere and as image here" in one_problem(text)


def test_a_layout_for_playlists_needs_a_slot() -> None:
    text = with_zones("- {name: a, type: text, box: [0, 0, 100, 100], text: Xin chào}\n")
    assert "no zone shows a slot, so no playlist can fill it" in one_problem(text)
    parse_layout(
        with_zones("- {name: a, type: clock, box: [0, 0, 100, 100]}\n", reserved="true"), "x"
    )


def test_bad_templates_and_colours() -> None:
    found = problems(GOOD.replace('"{body}"', '"{body"').replace("optional: true", "color: navi"))
    assert any("zone 'body': text: expected '}' before end of string" in p for p in found)
    assert any("did you mean 'navy'?" in p for p in found)
    assert "'{0}' is not a slot" in one_problem(GOOD.replace('"{body}"', '"{0}"'))


def test_duplicate_zone_names() -> None:
    text = with_zones(
        """\
        - {name: a, type: text, box: [0, 0, 50, 100], text: "{a}"}
        - {name: a, type: text, box: [50, 0, 50, 100], text: "{b}"}
        """
    )
    assert "zone 'a': used by another zone" in one_problem(text)


def test_name_must_match_the_file() -> None:
    assert problems(GOOD, stem="other") == [
        "my.yaml: name: must match the file name 'other' (line 1)"
    ]


def test_every_problem_is_reported_at_once() -> None:
    text = GOOD.replace("type: qr", "type: qrr").replace("[0, 0, 70, 100]", "[0, 0, 70, 101]")
    assert len(problems(text)) == 2


def test_variants_are_checked_and_named() -> None:
    text = GOOD + textwrap.dedent(
        """\
        variants:
          - when: {orientation: portrait}
            zones:
              bdy: {box: [0, 0, 100, 70]}
              code: {type: text, box: [0, 60, 100, 40]}
        """
    )
    found = problems(text)
    assert any("variants.0: no zone 'bdy' in this layout; did you mean 'body'?" in p for p in found)
    assert any("variants.0: zone 'code': type: a variant may not change it" in p for p in found)


def test_a_variant_needs_a_condition() -> None:
    text = GOOD + "variants:\n  - when: {}\n    zones: {}\n"
    assert "give at least one condition" in one_problem(text)


def test_variant_overlap_is_found() -> None:
    text = GOOD + textwrap.dedent(
        """\
        variants:
          - when: {orientation: portrait}
            zones:
              body: {box: [0, 0, 100, 70]}
        """
    )
    assert one_problem(text).startswith(
        "my.yaml: variants.0: zone 'code': box: overlaps zone 'body'"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: [unclosed\n", "not valid YAML"),
        ("- just\n- a list\n", "a layout file is a mapping"),
        ("", "a layout file is a mapping"),
        ("base: &b {a: 1}\nother: *b\n", "anchors and aliases (*name) are not allowed"),
        ("name: t\npurpose: p\nzones: []\n", "zones: List should have at least 1 item"),
        ("name: t\npurpose: p\nzones: [5]\n", "zone '#1': a zone is a mapping"),
    ],
)
def test_files_that_are_not_layouts(text: str, expected: str) -> None:
    assert expected in "\n".join(problems(text))


def test_unreadable_and_oversized_files(tmp_path: Path) -> None:
    with pytest.raises(LayoutError, match="cannot read"):
        load_layout_file(tmp_path / "missing.yaml")
    big = tmp_path / "big.yaml"
    big.write_text("# " + "x" * 300_000)
    with pytest.raises(LayoutError, match="larger than 256 KiB"):
        load_layout_file(big)
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(LayoutError, match="not UTF-8"):
        load_layout_file(binary)


json_like = st.recursive(
    st.none() | st.booleans() | st.integers(-200, 200) | st.floats(-200, 200) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
zone_keys = st.sampled_from(
    [
        "name",
        "type",
        "box",
        "text",
        "image",
        "data",
        "size",
        "color",
        "padding",
        "takes_room_of",
        "when_filled",
        "hidden",
        "optional",
        "font",
        "format",
        "speed",
        "overflow",
        "max_lines",
    ]
)
zone_like = st.dictionaries(zone_keys, json_like | st.sampled_from(["text", "qr", "{a}", "a"]))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    zones=st.lists(zone_like, max_size=5),
    top=st.dictionaries(
        st.sampled_from(["name", "purpose", "reserved", "variants", "background"]), json_like
    ),
)
def test_any_document_is_a_layout_or_a_layout_error(
    zones: list[object], top: dict[str, object]
) -> None:
    document = yaml.safe_dump({"name": "t", "purpose": "p", **top, "zones": zones})
    try:
        layout = parse_layout(document, "fuzz.yaml")
    except LayoutError as exc:
        # A valid layout is allowed too, which pytest.raises cannot say: hence noqa PT017.
        assert exc.problems  # noqa: PT017
        assert all(p.startswith("fuzz.yaml: ") for p in exc.problems)  # noqa: PT017
    else:
        assert layout.name == "t" or isinstance(top.get("name"), str)


# --- the library: built-in plus a folder ----------------------------------------------------


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_extra_layouts_join_the_builtin_ones(tmp_path: Path) -> None:
    write(tmp_path, "notice_qr.yaml", GOOD)
    write(tmp_path, "README.txt", "not a layout")
    library = load_library(tmp_path)
    assert "notice_qr" in library.specs
    assert "headline" in library.specs
    assert library.get("notice_qr") is not None
    assert load_library(None) is builtin_library()


def test_an_extra_layout_may_not_take_a_builtin_name_by_accident(tmp_path: Path) -> None:
    write(tmp_path, "headline.yaml", GOOD.replace("notice_qr", "headline"))
    with pytest.raises(LayoutError) as caught:
        load_library(tmp_path)
    assert caught.value.problems == [
        f"{tmp_path / 'headline.yaml'}: name: 'headline' is a built-in layout: choose another "
        "name, or set `override: true` to replace it on this board"
    ]


def test_override_replaces_a_builtin_layout(tmp_path: Path) -> None:
    write(tmp_path, "headline.yaml", GOOD.replace("notice_qr", "headline") + "override: true\n")
    library = load_library(tmp_path)
    assert [slot.name for slot in library.specs["headline"].slots] == ["body", "link"]


def test_a_replaced_reserved_layout_stays_reserved(tmp_path: Path) -> None:
    write(tmp_path, "idle.yaml", GOOD.replace("notice_qr", "idle") + "override: true\n")
    with pytest.raises(LayoutError, match="replaces a reserved layout and must be one"):
        load_library(tmp_path)


def test_override_needs_a_builtin_to_replace(tmp_path: Path) -> None:
    write(tmp_path, "notice_qr.yaml", GOOD + "override: true\n")
    with pytest.raises(LayoutError, match="no built-in layout 'notice_qr' to replace"):
        load_library(tmp_path)


def test_library_reports_every_bad_file(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", GOOD.replace("notice_qr", "a").replace("type: qr", "type: q"))
    write(tmp_path, "b.yml", GOOD.replace("notice_qr", "b").replace("purpose", "purpos"))
    with pytest.raises(LayoutError) as caught:
        load_library(tmp_path)
    assert {Path(p.split(":")[0]).name for p in caught.value.problems} == {"a.yaml", "b.yml"}


def test_a_missing_layouts_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(LayoutError, match="cannot read the layouts folder"):
        load_library(tmp_path / "nowhere")


# --- validate and the documentation ---------------------------------------------------------


def test_validate_reports_layout_problems_with_file_and_zone(tmp_path: Path) -> None:
    bad = write(tmp_path, "notice_qr.yaml", GOOD.replace("type: qr", "type: qrcode"))
    out = io.StringIO()
    assert validate_files([bad], out) == 1
    assert out.getvalue() == (
        f"{bad}: zone 'code': type: unknown zone type 'qrcode'; did you mean 'qr'? (line 9)\n"
    )


def test_validate_warns_about_an_accidental_builtin_name(tmp_path: Path) -> None:
    path = write(tmp_path, "headline.yaml", GOOD.replace("notice_qr", "headline"))
    out = io.StringIO()
    assert validate_files([path], out) == 0
    assert "add `override: true` to replace it" in out.getvalue()


def test_the_documented_example_validates(tmp_path: Path) -> None:
    doc = (REPO / "docs" / "layouts.md").read_text(encoding="utf-8")
    example = re.search(r"```yaml\n(# notice_qr\.yaml.*?)```", doc, re.DOTALL)
    assert example is not None, "docs/layouts.md lost its complete example"
    path = write(tmp_path, "notice_qr.yaml", example.group(1))
    out = io.StringIO()
    assert validate_files([path], out) == 0, out.getvalue()
