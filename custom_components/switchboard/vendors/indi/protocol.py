"""INDI protocol 1.7: data model, number formats, stream framing and element building.

No I/O lives here. `IndiStreamSplitter` cuts the rootless XML stream an INDI server sends into
complete top-level elements (bytes) without parsing them; `parse_element` turns one element into
an `ET.Element`; `vector_from_def` / `apply_set` turn definitions and updates into `IndiVector`
values; `build_*` produce what a client sends.

Why a splitter in front of the XML parser: a single `XMLPullParser` over the whole stream is fast,
but after one malformed element (an unescaped `&` in a driver message, a truncated write) expat's
state is lost and everything up to the error is unrecoverable. Framing first and parsing each
element on its own confines damage to the one bad element: it is skipped, the connection lives.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
import math
import re
from typing import Final, Literal
import xml.etree.ElementTree as ET

type VectorKind = Literal["switch", "number", "text", "light", "blob"]
type VectorPerm = Literal["ro", "wo", "rw"]
type VectorState = Literal["Idle", "Ok", "Busy", "Alert"]
type BlobMode = Literal["Never", "Also", "Only"]

PROTOCOL_VERSION: Final = "1.7"
STATES: Final[frozenset[str]] = frozenset({"Idle", "Ok", "Busy", "Alert"})
PERMS: Final[frozenset[str]] = frozenset({"ro", "wo", "rw"})
SWITCH_RULES: Final[frozenset[str]] = frozenset({"OneOfMany", "AtMostOne", "AnyOfMany"})
BLOB_MODES: Final[frozenset[str]] = frozenset({"Never", "Also", "Only"})

DEF_TAGS: Final[Mapping[str, VectorKind]] = {
    "defSwitchVector": "switch",
    "defNumberVector": "number",
    "defTextVector": "text",
    "defLightVector": "light",
    "defBLOBVector": "blob",
}
SET_TAGS: Final[Mapping[str, VectorKind]] = {
    "setSwitchVector": "switch",
    "setNumberVector": "number",
    "setTextVector": "text",
    "setLightVector": "light",
    "setBLOBVector": "blob",
}
NEW_TAGS: Final[Mapping[VectorKind, tuple[str, str]]] = {
    "switch": ("newSwitchVector", "oneSwitch"),
    "number": ("newNumberVector", "oneNumber"),
    "text": ("newTextVector", "oneText"),
    "blob": ("newBLOBVector", "oneBLOB"),
}
# Every element that may appear at the top level of an INDI stream (either direction, plus the
# ping pair of INDI 1.9). Used by the splitter to resynchronise after a broken element.
TOP_LEVEL_TAGS: Final[frozenset[bytes]] = frozenset(
    tag.encode()
    for tag in (
        *DEF_TAGS,
        *SET_TAGS,
        *(new for new, _ in NEW_TAGS.values()),
        "getProperties",
        "delProperty",
        "message",
        "enableBLOB",
        "pingRequest",
        "pingReply",
    )
)


@dataclass(slots=True)
class IndiMember:
    """One member of a vector (a switch, number, text, light or BLOB)."""

    name: str
    label: str
    value: str | float | None
    """Switch "On"/"Off", light state, text, number as float (None if unparsable), BLOB None."""
    raw: str = ""
    """The member's text exactly as received (stripped), e.g. "12:30:00" for a number."""
    format: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None
    size: int | None = None
    """BLOB: uncompressed size in bytes from the last setBLOBVector."""
    blob_format: str | None = None
    """BLOB: format (file suffix such as ".fits", ".fits.z") from the last setBLOBVector."""

    @property
    def formatted(self) -> str:
        """The value rendered with the member's printf/sexagesimal format (numbers only)."""
        if isinstance(self.value, float) and self.format:
            return format_number(self.value, self.format).strip()
        return self.raw


@dataclass(slots=True)
class IndiVector:
    """A defined INDI property vector, as last defined and updated."""

    device: str
    name: str
    label: str
    group: str
    kind: VectorKind
    perm: VectorPerm | None
    rule: str | None
    state: VectorState
    timeout: float | None
    timestamp: str | None
    message: str | None
    members: dict[str, IndiMember] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        """(device, vector name)."""
        return (self.device, self.name)

    @property
    def writable(self) -> bool:
        """Whether a client may send newXXXVector for it."""
        return self.kind != "light" and self.perm in ("wo", "rw")


class IndiProtocolError(ValueError):
    """An element that is well-formed XML but not valid INDI."""


_SEXAGESIMAL_SPLIT: Final = re.compile(r"[:\s;]+")


def parse_number(text: str) -> float | None:
    """Parse an INDI number: decimal, exponent or sexagesimal ("-12:30:00", "12 30", "12;30").

    Returns None when the text is not a number.
    """
    text = text.strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        pass
    negative = text.startswith("-")
    parts = _SEXAGESIMAL_SPLIT.split(text.lstrip("+-"))
    if not 1 <= len(parts) <= 3 or not all(parts):
        return None
    try:
        numbers = [float(part) for part in parts]
    except ValueError:
        return None
    if any(n < 0 for n in numbers):
        return None
    value = 0.0
    for index, number in enumerate(numbers):
        value += number / 60**index
    return -value if negative else value


_SEXAGESIMAL_FORMAT: Final = re.compile(r"^%(\d*)\.(\d+)m$")


def format_number(value: float, fmt: str) -> str:
    """Render a number with an INDI format: printf (%f %e %g %d) or sexagesimal %<w>.<f>m.

    The sexagesimal fraction width selects the layout as in INDI's `fs_sexa`: 3 -> H:M,
    5 -> H:M.m, 6 -> H:M:S, 8 -> H:M:S.s, 9 -> H:M:S.ss.
    """
    match = _SEXAGESIMAL_FORMAT.match(fmt.strip())
    if match is None:
        try:
            return str(fmt % value)
        except TypeError, ValueError:
            return repr(value)
    width = int(match.group(1) or 0)
    fraction = int(match.group(2))
    sign = "-" if value < 0 else ""
    magnitude = abs(value)
    if fraction <= 3:
        total = round(magnitude * 60)
        text = f"{sign}{total // 60}:{total % 60:02d}"
    elif fraction <= 5:
        total = round(magnitude * 600)
        text = f"{sign}{total // 600}:{(total % 600) // 10:02d}.{total % 10}"
    elif fraction <= 6:
        total = round(magnitude * 3600)
        text = f"{sign}{total // 3600}:{(total % 3600) // 60:02d}:{total % 60:02d}"
    elif fraction <= 8:
        total = round(magnitude * 36000)
        seconds = total % 600
        text = (
            f"{sign}{total // 36000}:{(total % 36000) // 600:02d}:"
            f"{seconds // 10:02d}.{seconds % 10}"
        )
    else:
        total = round(magnitude * 360000)
        seconds = total % 6000
        text = (
            f"{sign}{total // 360000}:{(total % 360000) // 6000:02d}:"
            f"{seconds // 100:02d}.{seconds % 100:02d}"
        )
    return text.rjust(width)


def _float_attr(element: ET.Element, name: str) -> float | None:
    value = element.get(name)
    return None if value is None else parse_number(value)


def _state(element: ET.Element, default: VectorState) -> VectorState:
    state = element.get("state")
    return default if state is None else _valid_state(state)


def _valid_state(text: str) -> VectorState:
    """A vector state attribute's value; raises IndiProtocolError for anything else."""
    state = text.strip()
    if state not in STATES:
        raise IndiProtocolError(f"invalid state {state!r}")
    return state  # type: ignore[return-value]


def _member_value(kind: VectorKind, raw: str) -> str | float | None:
    if kind == "number":
        return parse_number(raw)
    if kind == "blob":
        return None
    if kind in ("switch", "light"):
        return raw.strip()
    return raw


def vector_from_def(element: ET.Element) -> IndiVector:
    """Build a vector from a defXXXVector element."""
    kind = DEF_TAGS.get(element.tag)
    if kind is None:
        raise IndiProtocolError(f"not a definition: {element.tag}")
    device = element.get("device")
    name = element.get("name")
    if not device or not name:
        raise IndiProtocolError(f"{element.tag} without device or name")
    perm = element.get("perm")
    if kind == "light":
        perm = None
    elif perm not in PERMS:
        raise IndiProtocolError(f"{element.tag} {device}.{name}: invalid perm {perm!r}")
    rule = element.get("rule") if kind == "switch" else None
    members: dict[str, IndiMember] = {}
    for child in element:
        member_name = child.get("name")
        if not member_name:
            continue
        raw = (child.text or "").strip() if kind != "text" else (child.text or "")
        members[member_name] = IndiMember(
            name=member_name,
            label=child.get("label") or member_name,
            value=_member_value(kind, raw),
            raw=raw.strip(),
            format=child.get("format") if kind == "number" else None,
            minimum=_float_attr(child, "min") if kind == "number" else None,
            maximum=_float_attr(child, "max") if kind == "number" else None,
            step=_float_attr(child, "step") if kind == "number" else None,
        )
    return IndiVector(
        device=device,
        name=name,
        label=element.get("label") or name,
        group=element.get("group") or "",
        kind=kind,
        perm=perm,  # type: ignore[arg-type]
        rule=rule,
        state=_state(element, "Idle"),
        timeout=_float_attr(element, "timeout"),
        timestamp=element.get("timestamp"),
        message=element.get("message"),
        members=members,
    )


def apply_set(vector: IndiVector, element: ET.Element) -> IndiVector:
    """Return a new vector: `vector` with a setXXXVector element applied.

    The given vector is not modified, so references handed out earlier keep their values.
    Members not mentioned keep their values; unknown members are ignored.
    """
    members = dict(vector.members)
    kind = vector.kind
    for child in element:
        member_name = child.get("name")
        current = members.get(member_name) if member_name else None
        if current is None:
            continue
        if kind == "blob":
            size_attr = child.get("size")
            members[current.name] = IndiMember(
                current.name,
                current.label,
                None,
                "",
                size=int(size_attr) if size_attr and size_attr.strip().isdigit() else None,
                blob_format=child.get("format"),
            )
            continue
        text = child.text or ""
        minimum, maximum, step = current.minimum, current.maximum, current.step
        if kind == "number":
            value: str | float | None = parse_number(text)
            # A set may narrow or widen limits (INDI 1.7 allows min/max/step on oneNumber).
            if limit := child.get("min"):
                minimum = parse_number(limit)
            if limit := child.get("max"):
                maximum = parse_number(limit)
            if limit := child.get("step"):
                step = parse_number(limit)
        else:
            value = _member_value(kind, text if kind == "text" else text.strip())
        members[current.name] = IndiMember(
            current.name, current.label, value, text.strip(), current.format, minimum, maximum, step
        )
    timeout = element.get("timeout")
    state = element.get("state")
    return IndiVector(
        vector.device,
        vector.name,
        vector.label,
        vector.group,
        kind,
        vector.perm,
        vector.rule,
        vector.state if state is None else _valid_state(state),
        vector.timeout if timeout is None or (number := parse_number(timeout)) is None else number,
        element.get("timestamp") or vector.timestamp,
        element.get("message"),
        members,
    )


def _serialize(element: ET.Element) -> bytes:
    data: bytes = ET.tostring(element, encoding="utf-8", xml_declaration=False)
    return data


def build_get_properties(device: str | None = None, name: str | None = None) -> bytes:
    """`<getProperties version="1.7" [device] [name]/>`."""
    element = ET.Element("getProperties", version=PROTOCOL_VERSION)
    if device is not None:
        element.set("device", device)
        if name is not None:
            element.set("name", name)
    return _serialize(element)


def build_enable_blob(device: str, name: str | None, mode: BlobMode) -> bytes:
    """`<enableBLOB device [name]>Never|Also|Only</enableBLOB>`."""
    if mode not in BLOB_MODES:
        raise ValueError(f"invalid enableBLOB mode {mode!r}")
    element = ET.Element("enableBLOB", device=device)
    if name is not None:
        element.set("name", name)
    element.text = mode
    return _serialize(element)


def encode_member_value(kind: VectorKind, value: str | float | bool) -> str:
    """Text for a oneXXX element of a newXXXVector.

    Raises ValueError when ``value`` does not suit ``kind``: a switch takes On/Off (or a bool), a
    number a finite int/float or INDI number text (``inf``, ``nan`` and integers beyond the
    double range are refused).
    """
    if kind == "switch":
        if isinstance(value, bool):
            return "On" if value else "Off"
        text = str(value).strip()
        if text.lower() in ("on", "off"):
            return text.capitalize()
        raise ValueError(f"a switch member takes On or Off, not {value!r}")
    if kind == "number":
        if isinstance(value, bool):
            raise ValueError("a number member does not take a boolean")
        if isinstance(value, int | float):
            try:
                number = float(value)
            except OverflowError as err:
                raise ValueError("the number is too large for INDI") from err
            if not math.isfinite(number):
                raise ValueError(f"not a finite number: {value!r}")
            if isinstance(value, int):
                return str(value)
            return str(int(number)) if number.is_integer() else repr(number)
        parsed = parse_number(value)
        if parsed is None:
            raise ValueError(f"not an INDI number: {value!r}")
        if not math.isfinite(parsed):
            raise ValueError(f"not a finite number: {value!r}")
        return value.strip()
    return str(value)


def build_new_vector(
    kind: VectorKind, device: str, name: str, members: Mapping[str, str], timestamp: str | None
) -> bytes:
    """`<newXXXVector device name [timestamp]><oneXXX name>value</oneXXX>...</newXXXVector>`."""
    if kind not in NEW_TAGS:
        raise ValueError(f"a {kind} vector cannot be written")
    tag, member_tag = NEW_TAGS[kind]
    element = ET.Element(tag, device=device, name=name)
    if timestamp is not None:
        element.set("timestamp", timestamp)
    for member_name, text in members.items():
        child = ET.SubElement(element, member_tag, name=member_name)
        child.text = text
    return _serialize(element)


def build_ping_reply(uid: str) -> bytes:
    """`<pingReply uid/>` answering a server's pingRequest (INDI 1.9)."""
    return _serialize(ET.Element("pingReply", uid=uid))


def parse_element(data: bytes) -> ET.Element:
    """Parse one framed top-level element; raises `ET.ParseError` when malformed."""
    # The splitter frames from an element's start tag, so no DOCTYPE (and no entity
    # declarations) can reach the parser: entity expansion attacks are not possible here.
    return ET.fromstring(data)  # noqa: S314


class IndiElementParser:
    """`parse_element` for the elements an `IndiStreamSplitter` frames, with one expat parser.

    Creating an expat parser per element costs about as much as parsing a small element, so
    this parser stays open inside an implicit root element and is fed one framed element after
    the other. The result equals `parse_element`'s for every framed element: the same tree, or
    `ET.ParseError` (a malformed element, or bytes that are not exactly one complete element);
    after an error the parser is replaced, so a bad element never affects the next one. As with
    `parse_element`, no DOCTYPE can reach it: the root is open before any input.
    """

    def __init__(self) -> None:
        """Open the parser and its root."""
        self._parser, self._root = self._open()

    @staticmethod
    def _open() -> tuple[ET.XMLPullParser[ET.Element], ET.Element]:
        parser: ET.XMLPullParser[ET.Element] = ET.XMLPullParser(("start", "end"))
        parser.feed(b"<indi>")
        root = next(parser.read_events())[-1]
        assert isinstance(root, ET.Element)
        return parser, root

    def parse(self, data: bytes) -> ET.Element:
        """Parse one framed top-level element; raises `ET.ParseError` when malformed."""
        root = self._root
        try:
            self._parser.feed(data)
            last: object = None
            for last in self._parser.read_events():  # noqa: B007 (only the last one counts)
                pass
            if len(root) != 1 or last != ("end", root[0]):
                raise ET.ParseError("not one complete element")
        except ET.ParseError:
            self._parser, self._root = self._open()
            raise
        element = root[0]
        root.clear()
        return element


_TAG_NAME: Final = re.compile(rb"</?([A-Za-z_][-\w.:]*)")
_WHOLE_TAG: Final = re.compile(rb"</?([A-Za-z_][-\w.:]*+)(?:[^>\"']++|\"[^\"]*+\"|'[^']*+')*+>")
"""A complete start or end tag in one match (what `_tag_end` and `_TAG_NAME` find in two);
possessive, so a tag that is not complete yet fails in one linear scan."""
_TAG_END_OR_QUOTE: Final = re.compile(rb"[>\"']")
_NON_SPACE: Final = re.compile(rb"\S")
_SLASH: Final = ord("/")
_QUESTION: Final = ord("?")


class IndiStreamSplitter:
    """Cut a rootless stream of XML elements into complete top-level elements.

    Only markup structure is scanned (with C-speed `find`s, so large BLOB payloads are cheap);
    elements are not parsed. Broken structure is skipped, not fatal:
    * text outside any element, stray end tags and unknown markup at the top level are dropped;
    * a known top-level start tag seen inside an unfinished element means that element was
      broken (e.g. never closed): it is dropped and framing restarts at the new tag;
    * more than `max_element_size` bytes held back (an unfinished element, or an unfinished tag,
      comment, CDATA section or processing instruction at the top level) are dropped.
    `skipped` counts dropped fragments, for the caller's log.

    Each byte is scanned a bounded number of times however the stream is cut into `feed`
    calls: an unfinished tag or comment is resumed where its scan stopped, not rescanned.
    """

    def __init__(self, max_element_size: int = 256 * 1024 * 1024) -> None:
        """Start with an empty buffer."""
        self._buffer = bytearray()
        self._pos = 0
        self._start = 0
        self._depth = 0
        self._max = max_element_size
        self._resume = -1
        """Where the scan of the unfinished markup at `_pos` goes on (-1: from its start)."""
        self._quote: int | None = None
        """The quote open at `_resume` inside an unfinished tag."""
        self.skipped = 0

    @property
    def buffered(self) -> int:
        """Bytes held back: an unfinished element or markup (at most `max_element_size`)."""
        return len(self._buffer)

    def reset(self) -> None:
        """Forget buffered data (after a reconnect)."""
        self._buffer.clear()
        self._pos = self._start = self._depth = 0
        self._resume, self._quote = -1, None

    def feed(self, data: bytes) -> list[bytes]:
        """Add received bytes; return the top-level elements completed by them."""
        buffer = self._buffer
        buffer += data
        out: list[bytes] = []
        pos = self._pos
        depth = self._depth
        pending, resume, quote = pos, self._resume, self._quote
        self._resume, self._quote = -1, None
        while True:
            lt = buffer.find(b"<", pos)
            if lt < 0:
                if depth == 0 and _NON_SPACE.search(buffer, pos):
                    self.skipped += 1
                pos = len(buffer)
                break
            if depth == 0 and lt > pos and _NON_SPACE.search(buffer, pos, lt):
                self.skipped += 1
            if lt + 1 >= len(buffer):
                pos = lt
                break
            resuming = lt == pending and resume >= 0
            pending = -1
            second = buffer[lt + 1]
            if second in b"!?":
                if buffer.startswith(b"<!--", lt):
                    terminator = b"-->"
                elif buffer.startswith(b"<![CDATA[", lt):
                    terminator = b"]]>"
                elif second == _QUESTION:
                    terminator = b"?>"
                elif len(buffer) - lt < 9:
                    pos = lt
                    break
                else:
                    terminator = b">"
                end = buffer.find(terminator, resume if resuming else lt + 2)
                if end < 0:
                    pos = lt
                    self._resume = max(lt + 2, len(buffer) - len(terminator) + 1)
                    break
                pos = end + len(terminator)
                continue
            match = None if resuming else _WHOLE_TAG.match(buffer, lt)
            if match is not None:
                gt = match.end() - 1
            else:
                gt, stop, open_quote = self._tag_end(
                    buffer, resume if resuming else lt + 1, quote if resuming else None
                )
                if gt < 0:
                    pos = lt
                    self._resume, self._quote = stop, open_quote
                    break
                match = _TAG_NAME.match(buffer, lt)
            if match is None:
                # "<" not starting a tag: malformed; skip the markup.
                if depth == 0:
                    self.skipped += 1
                pos = gt + 1
                continue
            if second == _SLASH:
                if depth == 0:
                    self.skipped += 1
                else:
                    depth -= 1
                    if depth == 0:
                        out.append(bytes(buffer[self._start : gt + 1]))
                pos = gt + 1
                continue
            if depth > 0 and match.group(1) in TOP_LEVEL_TAGS:
                self.skipped += 1
                depth = 0
            self_closing = buffer[gt - 1] == _SLASH
            if depth == 0:
                self._start = lt
                if self_closing:
                    out.append(bytes(buffer[lt : gt + 1]))
                else:
                    depth = 1
            elif not self_closing:
                depth += 1
            pos = gt + 1
        self._depth = depth
        # Compact: keep only the unfinished element (or the unfinished markup / unscanned tail).
        keep_from = self._start if self._depth > 0 else pos
        if keep_from:
            del buffer[:keep_from]
            pos -= keep_from
            self._start = 0
            if self._resume >= 0:
                self._resume -= keep_from
        if len(buffer) > self._max:
            # Whatever is held back (an element, or one tag/comment at the top level) is too
            # large: drop it; framing resynchronises on the next start tag.
            self.skipped += 1
            buffer.clear()
            pos = self._depth = 0
            self._resume, self._quote = -1, None
        self._pos = pos
        return out

    @staticmethod
    def _tag_end(buffer: bytearray, index: int, quote: int | None) -> tuple[int, int, int | None]:
        """Find the ">" closing a tag, honouring quotes, scanning from `index`.

        `quote` is the quote character open at `index` (None outside quotes). Returns
        `(index of ">", -1, None)`, or `(-1, where to resume, quote open there)` when the tag
        is not complete yet.
        """
        while True:
            if quote is not None:
                close = buffer.find(bytes((quote,)), index)
                if close < 0:
                    return -1, len(buffer), quote
                index, quote = close + 1, None
            match = _TAG_END_OR_QUOTE.search(buffer, index)
            if match is None:
                return -1, len(buffer), None
            if buffer[match.start()] == ord(">"):
                return match.start(), -1, None
            quote, index = buffer[match.start()], match.end()
