"""INDI protocol helpers: numbers, framing, element conversion (no I/O)."""

import xml.etree.ElementTree as ET

import pytest

from custom_components.switchboard.vendors.indi.protocol import (
    IndiProtocolError,
    IndiStreamSplitter,
    apply_set,
    build_enable_blob,
    build_get_properties,
    build_new_vector,
    encode_member_value,
    format_number,
    parse_number,
    vector_from_def,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12.5", 12.5),
        (" -3e2 ", -300.0),
        ("12:30:00", 12.5),
        ("-12:30:00", -12.5),
        ("12:30", 12.5),
        ("12 30 36", 12.51),
        ("12;30", 12.5),
        ("+5:15", 5.25),
        ("17.819431828943653073", 17.819431828943653),
    ],
)
def test_parse_number(text: str, expected: float) -> None:
    assert parse_number(text) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["", "abc", "12:xx", "1:2:3:4", "12:-30", "::"])
def test_parse_number_rejects(text: str) -> None:
    assert parse_number(text) is None


@pytest.mark.parametrize(
    ("value", "fmt", "expected"),
    [
        (12.5, "%.2f", "12.50"),
        (50000.0, "%.f", "50000"),
        (1234.5, "%g", "1234.5"),
        (3.0, "%3.0f", "  3"),
        (12.5, "%010.6m", "  12:30:00"),
        (-45.25, "%9.6m", "-45:15:00"),
        (12.5, "%.3m", "12:30"),
        (12.51, "%.5m", "12:30.6"),
        (12.50125, "%.8m", "12:30:04.5"),
        (12.50125, "%.9m", "12:30:04.50"),
        (1.0, "%q", "1.0"),
    ],
)
def test_format_number(value: float, fmt: str, expected: str) -> None:
    assert format_number(value, fmt) == expected


STREAM = (
    b'<defNumberVector device="D" name="N" label="N" group="G" state="Idle" perm="rw" '
    b'timeout="60" timestamp="2026-11-21T19:42:37">\n'
    b'  <defNumber name="RA" label="RA" format="%010.6m" min="0" max="24" step="0">12:30:00'
    b"</defNumber>\n</defNumberVector>"
    b'<message device="D" timestamp="t" message="can\'t say &quot;a &gt; b&quot;"/>'
    b"<!-- a comment <setNumberVector> -->"
    b'<setNumberVector device="D" name="N" state="Ok" message="x > y">'
    b'<oneNumber name="RA">13</oneNumber></setNumberVector>\n'
)


def test_splitter_frames_elements_at_any_chunking() -> None:
    expected = IndiStreamSplitter().feed(STREAM)
    assert [ET.fromstring(e).tag for e in expected] == [
        "defNumberVector",
        "message",
        "setNumberVector",
    ]
    for size in (1, 2, 3, 7, 64):
        splitter = IndiStreamSplitter()
        out: list[bytes] = []
        for i in range(0, len(STREAM), size):
            out.extend(splitter.feed(STREAM[i : i + size]))
        assert out == expected, size
        assert splitter.skipped == 0


def test_splitter_skips_malformed_and_resynchronises() -> None:
    splitter = IndiStreamSplitter()
    garbage = (
        b"garbage text"
        b"</stray>"
        b'<setNumberVector device="D" name="N" state="Ok"><oneNumber name="RA">1</oneNumber>'
        # ^ never closed: the next top-level start tag drops it
    )
    good = (
        b'<setNumberVector device="D" name="N" state="Ok"><oneNumber name="RA">2</oneNumber>'
        b"</setNumberVector>"
    )
    out = splitter.feed(garbage + good)
    assert out == [good]
    assert splitter.skipped == 3


def test_splitter_bounds_element_size() -> None:
    splitter = IndiStreamSplitter(max_element_size=100)
    assert splitter.feed(b'<setBLOBVector device="D" name="B"><oneBLOB>' + b"A" * 200) == []
    assert splitter.skipped == 1
    assert splitter.feed(b'</oneBLOB></setBLOBVector><message message="ok"/>') == [
        b'<message message="ok"/>'
    ]


def test_vector_from_def_and_apply_set() -> None:
    elements = [ET.fromstring(e) for e in IndiStreamSplitter().feed(STREAM)]
    vector = vector_from_def(elements[0])
    assert vector.kind == "number"
    assert vector.perm == "rw"
    assert vector.state == "Idle"
    assert vector.timeout == 60
    member = vector.members["RA"]
    assert member.value == 12.5
    assert member.raw == "12:30:00"
    assert member.formatted == "12:30:00"
    assert (member.minimum, member.maximum, member.step) == (0, 24, 0)
    updated = apply_set(vector, elements[2])
    assert updated.state == "Ok"
    assert updated.message == "x > y"
    assert updated.members["RA"].value == 13.0
    assert updated.members["RA"].format == "%010.6m"
    # the earlier object is untouched
    assert vector.members["RA"].value == 12.5
    assert vector.state == "Idle"


def test_def_validation() -> None:
    with pytest.raises(IndiProtocolError):
        vector_from_def(ET.fromstring('<defTextVector device="D" perm="rw"/>'))
    with pytest.raises(IndiProtocolError):
        vector_from_def(ET.fromstring('<defTextVector device="D" name="N" perm="xx"/>'))
    with pytest.raises(IndiProtocolError):
        vector_from_def(
            ET.fromstring('<defTextVector device="D" name="N" perm="ro" state="Weird"/>')
        )
    light = vector_from_def(
        ET.fromstring(
            '<defLightVector device="D" name="L" state="Alert"><defLight name="A">Busy</defLight>'
            "</defLightVector>"
        )
    )
    assert light.perm is None
    assert light.state == "Alert"
    assert light.members["A"].value == "Busy"
    assert not light.writable


def test_builders() -> None:
    assert build_get_properties() == b'<getProperties version="1.7" />'
    assert build_get_properties("D", "V") == b'<getProperties version="1.7" device="D" name="V" />'
    assert build_enable_blob("D", None, "Also") == b'<enableBLOB device="D">Also</enableBLOB>'
    assert (
        build_new_vector("switch", "D & E", "V", {"ON": "On"}, None)
        == b'<newSwitchVector device="D &amp; E" name="V"><oneSwitch name="ON">On</oneSwitch>'
        b"</newSwitchVector>"
    )
    with pytest.raises(ValueError, match="light"):
        build_new_vector("light", "D", "V", {}, None)
    assert encode_member_value("switch", "on") == "On"
    assert encode_member_value("switch", False) == "Off"
    assert encode_member_value("number", 3.0) == "3"
    assert encode_member_value("number", 2.5) == "2.5"
    assert encode_member_value("number", "12:30") == "12:30"
    with pytest.raises(ValueError, match="On or Off"):
        encode_member_value("switch", "maybe")
    with pytest.raises(ValueError, match="number"):
        encode_member_value("number", "twelve")
