"""The one place where discovery parses XML: hostile bodies in, a stream of elements out.

Every feed and sitemap goes through :func:`iter_xml`, with this hardening: lxml never expands
entities, never loads a DTD, never touches the network and keeps its default size limits
(``huge_tree=False``: depth 256, 10 MB text nodes), so billion-laughs and XXE bodies do nothing.
Before libxml2 sees the bytes they are gunzipped under a size cap, stripped of a BOM and of whatever
a broken server printed before ``<?xml``, transcoded to UTF-8 with the repairs real feeds need (a
UTF-8 header over windows-1252 bytes, ``iso-8859-1`` that is really windows-1252), and two lossless
text repairs are made (HTML named entities, bare ampersands).

Strict or recover: the document is parsed once, in recover mode, and is ``degraded`` when libxml2
logged an error, which is exactly when a strict parse would have failed (or when the body was
truncated or had garbage in front). One pass instead of strict-then-recover keeps the streaming
parser simple and the cost of a malformed 100,000-item feed the same as a clean one.

Entity references stay in the tree as ``etree._Entity`` nodes. Never read text through XPath
``string()``: libxml2 expands entities there. Use :func:`text_of`, which skips them.
"""

from __future__ import annotations

import codecs
import html.entities
import io
import logging
import re
import zlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any
from urllib.parse import urljoin

import charset_normalizer
from lxml import etree

from newsmon.crawler.items import DiscoveryError

logger = logging.getLogger(__name__)

#: Default cap on the size of a gzip-decompressed body.
DEFAULT_MAX_SIZE = 5 * 1024 * 1024
XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

_GZIP_MAGIC = b"\x1f\x8b"
_GZIP_CHUNK = 64 * 1024
# How far into the body to look for an XML declaration hidden behind a PHP warning or similar.
_PREFIX_WINDOW = 4096
# Above this many invalid UTF-8 sequences, the body is windows-1252 through and through.
_MAX_REPAIRS = 1000
# Detection reads this much of an undeclared body that is not UTF-8.
_DETECT_SAMPLE = 256 * 1024
# Up to this many invalid sequences in a sample, the text is UTF-8 with stray windows-1252 bytes.
_STRAY_BYTES = 3
# What detection may answer for a body windows-1252 reads as well (its superset, by design).
_CP1252_LIKE = frozenset({"ascii", "latin_1", "cp1252", "iso8859_15", "cp1250", "iso8859_2", "utf_8"})

_SAFE_OPTIONS: dict[str, Any] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "dtd_validation": False,
    "attribute_defaults": False,
    "huge_tree": False,
    "remove_comments": True,
    "remove_pis": True,
    "recover": True,
    # Force the transcoded UTF-8 over whatever the XML declaration claims.
    "encoding": "utf-8",
}

_HTML_ENTITY = re.compile(rb"&(?!(?:amp|lt|gt|quot|apos);)([A-Za-z][A-Za-z0-9]{1,31});")
_NOT_A_REFERENCE = rb"&(?!(?:[A-Za-z][A-Za-z0-9._-]{0,31}|#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6});)"
_BARE_AMPERSAND = re.compile(_NOT_A_REFERENCE)
# An unclosed CDATA section runs to the end, so a hostile body cannot make this quadratic.
_BARE_AMPERSAND_OR_CDATA = re.compile(rb"(<!\[CDATA\[.*?(?:\]\]>|\Z))|" + _NOT_A_REFERENCE, re.DOTALL)
_DECLARED_ENCODING = re.compile(rb"""^<\?xml[^>]{0,200}?encoding\s*=\s*["']([A-Za-z0-9._:-]{1,40})["']""")
# Labels that browsers (WHATWG Encoding) read as windows-1252, and so must we.
_CP1252_NAMES = frozenset(
    {"iso-8859-1", "iso8859-1", "latin-1", "latin1", "l1", "us-ascii", "ascii", "windows-1252", "cp1252"}
)
_CHARSET_PARAM = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9._:-]{1,40})""", re.IGNORECASE)
# How much of a document's end ends_inside() reads.
_TAIL_WINDOW = 8192
_UTF16_STARTS = (
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
    (b"<\x00?\x00", "utf-16-le"),
    (b"\x00<\x00?", "utf-16-be"),
)


def _cp1252_char(byte: int) -> str:
    try:
        return bytes([byte]).decode("cp1252")
    except UnicodeDecodeError:
        # The five bytes windows-1252 leaves undefined map to the C1 controls, as in latin-1.
        return chr(byte)


_CP1252_TABLE = tuple(_cp1252_char(byte) for byte in range(256))


def _cp1252_fallback(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    bad = exc.object[exc.start : exc.end]
    return "".join(_CP1252_TABLE[byte] for byte in bad), exc.end


_CP1252_ERRORS = "newsmon.cp1252"
codecs.register_error(_CP1252_ERRORS, _cp1252_fallback)


def decompress(body: bytes, max_size: int = DEFAULT_MAX_SIZE) -> tuple[bytes, list[str]]:
    """Gunzip ``body`` if it starts with the gzip magic bytes, stopping at ``max_size`` bytes.

    Returns:
        The (possibly decompressed) bytes and a list of problems; a non-empty list means the
        output is incomplete (truncated at the cap, cut-off or corrupt stream).

    Raises:
        DiscoveryError: the body claims to be gzip but not one byte of it decompresses.
    """
    if not body.startswith(_GZIP_MAGIC):
        return body, []
    out = bytearray()
    problems: list[str] = []
    pending = memoryview(body)
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        while True:
            budget = max_size + 1 - len(out)
            chunk = inflater.unconsumed_tail or pending[:_GZIP_CHUNK]
            if not inflater.unconsumed_tail:
                pending = pending[_GZIP_CHUNK:]
            out += inflater.decompress(chunk, budget)
            if len(out) > max_size:
                problems.append(f"gzip body larger than {max_size} bytes, truncated")
                del out[max_size:]
                break
            if inflater.eof:
                rest = inflater.unused_data + bytes(pending)
                if not rest.startswith(_GZIP_MAGIC):
                    break
                # Concatenated gzip members are one valid gzip file.
                inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
                pending = memoryview(rest)
                continue
            if not pending and not inflater.unconsumed_tail:
                problems.append("gzip stream cut off")
                break
    except zlib.error as exc:
        problems.append(f"corrupt gzip stream: {exc}")
    if not out:
        raise DiscoveryError(f"not a document: gzip body does not decompress ({'; '.join(problems)})")
    return bytes(out), problems


def sniff(body: bytes, max_size: int, what: str) -> tuple[bytes, list[str], bytes]:
    """:func:`decompress` ``body``; also return its head, to tell formats apart by: the first
    KiB without a BOM or leading white space, lower-cased.

    Raises:
        DiscoveryError: the body is empty (``not a {what}: empty body``), or claims to be gzip
            but does not decompress.
    """
    data, problems = decompress(body, max_size)
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if not head:
        raise DiscoveryError(f"not a {what}: empty body")
    return data, problems, head


def _transcode(data: bytes, charset: str | None = None) -> tuple[bytes, list[str]]:
    """Return ``data`` as UTF-8 starting at its first ``<``, and any garbage that was skipped.

    Which encoding wins, first to last: a byte-order mark, the HTTP ``charset`` (RFC 7303: the
    transport's word beats the document's), the XML declaration, then detection.
    """
    declared = None
    for start, codec in _UTF16_STARTS:
        if data.startswith(start):
            data = data.decode(codec, "replace").encode("utf-8")
            declared = "utf-8"
            break
    else:
        if data.startswith(codecs.BOM_UTF8):
            data = data[3:]
            declared = "utf-8"  # A BOM beats the declaration (XML 1.0, appendix F).
    data, problems = _skip_prefix(data)
    if declared is None and charset:
        declared = charset.strip().strip("\"'").lower() or None
    if declared is None:
        match = _DECLARED_ENCODING.match(data)
        declared = match.group(1).decode("ascii").lower() if match else None
    if declared is None:
        declared = _detect(data)
    return _to_utf8(data, declared), problems


def _detect(data: bytes) -> str:
    """The encoding of an undeclared body: UTF-8 if it is (or nearly is), else what detection says.

    Undeclared non-UTF-8 bodies are mostly windows-1252, but Russian, Chinese, Japanese, Korean,
    Thai and Hebrew sites still serve KOI8-R, Big5, GB2312, EUC-JP, Shift_JIS, EUC-KR, TIS-620 or
    windows-1255 without saying so. Detection only runs when the bytes are not UTF-8 and the
    invalid sequences are more than a few stray windows-1252 bytes in UTF-8 text.
    """
    if data.isascii():
        return "utf-8"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8"
    sample = data[:_DETECT_SAMPLE]
    if sample.decode("utf-8", "replace").count("\ufffd") <= _STRAY_BYTES:
        return "utf-8"  # a few windows-1252 bytes in UTF-8 text: _repair_utf8's case
    best = charset_normalizer.from_bytes(sample).best()
    if best is None or best.encoding in _CP1252_LIKE:
        return "windows-1252"
    logger.debug("Undeclared encoding detected as %s", best.encoding)
    return str(best.encoding)


def _skip_prefix(data: bytes) -> tuple[bytes, list[str]]:
    """Drop whitespace, and anything a server printed (PHP warnings) before the XML starts."""
    if data[:1].isspace():
        data = data.lstrip()
    start = data.find(b"<?xml", 0, _PREFIX_WINDOW)
    if start < 0:
        start = data.find(b"<", 0, _PREFIX_WINDOW)
    if start <= 0:
        return data, []
    return data[start:], [f"{start} bytes of garbage before the XML"]


def _to_utf8(data: bytes, declared: str) -> bytes:
    try:
        codec = codecs.lookup(declared).name
    except LookupError:
        logger.debug("Unknown XML encoding %r, reading the body as UTF-8", declared)
        codec = "utf-8"
    if codec.startswith(("utf-16", "utf-32")):
        # The declaration was just read as ASCII, so the body is not UTF-16 whatever it says.
        codec = "utf-8"
    if codec != "utf-8" and declared not in _CP1252_NAMES:
        return data.decode(codec, "replace").encode("utf-8")
    if data.isascii():  # No copy needed to know that ASCII is valid UTF-8.
        return data
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        if codec == "utf-8":
            return _repair_utf8(data)
        return data.decode("cp1252", _CP1252_ERRORS).encode("utf-8")
    # Valid UTF-8 under a latin-1 label is UTF-8: real latin-1 text is almost never valid UTF-8.
    return data


def _repair_utf8(data: bytes) -> bytes:
    """Read invalid UTF-8 as UTF-8 with windows-1252 for the bytes that do not fit."""
    if data.decode("utf-8", "replace").count("\ufffd") > _MAX_REPAIRS:
        return data.decode("cp1252", _CP1252_ERRORS).encode("utf-8")
    return data.decode("utf-8", _CP1252_ERRORS).encode("utf-8")


def _numeric_entity(match: re.Match[bytes]) -> bytes:
    characters = html.entities.html5.get(match[1].decode("ascii") + ";")
    if characters is None:
        return match[0]
    return "".join(f"&#{ord(character)};" for character in characters).encode("ascii")


def _escape_ampersand(match: re.Match[bytes]) -> bytes:
    return match[0] if match[1] else b"&amp;"


def _prepare(body: bytes, max_size: int, charset: str | None = None) -> tuple[bytes, list[str]]:
    data, problems = decompress(body, max_size)
    data, repairs = _transcode(data, charset)
    # Two lossless repairs for what feeds get wrong most, both of which libxml2 would answer by
    # dropping text: HTML named entities (&eacute;, &nbsp;), undefined in XML, become character
    # references; bare ampersands ("Fish & chips", "?a=1&b=2") are escaped outside CDATA.
    data = _HTML_ENTITY.sub(_numeric_entity, data)
    if _BARE_AMPERSAND.search(data):
        data = _BARE_AMPERSAND_OR_CDATA.sub(_escape_ampersand, data)
    if not data.strip():
        raise DiscoveryError("not a document: empty body")
    return data, problems + repairs


def _error_summary(error_log: Any) -> list[str]:
    errors = error_log.filter_from_errors()
    if not errors:
        return []
    first = errors[0]
    return [f"malformed XML, recovered (line {first.line}: {first.message})"]


class XmlStream:
    """The elements of a document that match ``tags``, one at a time, freed once consumed.

    Iterate once. Each yielded element is complete (its subtree is parsed) and still attached to
    its ancestors, so ``xml:base`` and parent checks work; it is cleared and detached when the
    consumer asks for the next one, which keeps memory flat whatever the number of items.
    After iteration, :attr:`root` holds the document element with everything that was not
    yielded (channel metadata), and :attr:`degraded`/:attr:`problems` say what went wrong.

    With ``classify``, :attr:`kind` is what it says of the document element (``"rss"``,
    ``"urlset"``...): set before the first element is yielded, so the consumer can tell what
    the elements are, or at the end when no element matched. ``classify`` rejects a document
    by raising; the error comes out of the iteration.
    """

    def __init__(self, body: bytes, tags: Sequence[str], *, max_size: int = DEFAULT_MAX_SIZE,
                 classify: Callable[[etree._Element], str] | None = None, charset: str | None = None) -> None:
        """Prepare ``body`` (gunzip, BOM, prefix, encoding); parsing starts on iteration."""
        self._data, self.problems = _prepare(body, max_size, charset)
        #: The document as libxml2 reads it (UTF-8, repaired), for a second, tolerant parser.
        self.prepared = self._data
        self._tags = list(tags)
        self._classify = classify
        self.root: etree._Element | None = None
        self.kind: str | None = None

    @property
    def degraded(self) -> bool:
        """Whether the document was malformed, truncated or had garbage in front of it."""
        return bool(self.problems)

    def __iter__(self) -> Iterator[etree._Element]:
        """Yield matching elements in document order."""
        events = etree.iterparse(io.BytesIO(self._data), events=("end",), tag=self._tags, **_SAFE_OPTIONS)
        self._data = b""  # Iterate once.
        try:
            for _event, element in events:
                if self.kind is None and self._classify is not None:
                    self.kind = self._classify(element.getroottree().getroot())
                yield element
                element.clear(keep_tail=False)
                parent = element.getparent()
                if parent is not None:
                    parent.remove(element)
        except etree.XMLSyntaxError as exc:
            self.problems.append(f"XML parsing stopped: {exc}")
        self.root = events.root
        self.problems += _error_summary(events.error_log)
        if self.kind is None and self._classify is not None and self.root is not None:
            self.kind = self._classify(self.root)


def iter_xml(body: bytes, tags: Sequence[str], *, max_size: int = DEFAULT_MAX_SIZE,
             classify: Callable[[etree._Element], str] | None = None, charset: str | None = None) -> XmlStream:
    """Return an :class:`XmlStream` over the elements of ``body`` whose tag is in ``tags``.

    Tags use lxml's syntax (``"{*}item"`` matches ``item`` in any namespace). ``classify``
    names the kind of document from its root element (see :class:`XmlStream`).

    Raises:
        DiscoveryError: the body is empty or an undecodable gzip stream.
    """
    return XmlStream(body, tags, max_size=max_size, classify=classify, charset=charset)


def ends_inside(data: bytes, name: bytes) -> bool:
    """Whether ``data`` stops inside a ``<name>`` element: its last opening has no closing tag.

    Only the end of the document is looked at, so this costs nothing on a large body.
    """
    tail = data[-_TAIL_WINDOW:]
    opened = max(tail.rfind(b"<" + name + b">"), tail.rfind(b"<" + name + b" "))
    return opened > tail.rfind(b"</" + name)


def charset_of(content_type: str | None) -> str | None:
    """The ``charset`` parameter of a ``Content-Type`` header value, if any."""
    if not content_type:
        return None
    match = _CHARSET_PARAM.search(content_type)
    return match.group(1) if match else None


def local_name(tag: object) -> str:
    """The local part of a Clark-notation tag; empty for comments, PIs and entity nodes."""
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2]


def text_of(element: etree._Element) -> str:
    """All text under ``element``; unexpanded entity references contribute nothing."""
    if not len(element):
        return element.text or ""
    parts: list[str] = []
    _collect_text(element, parts)
    return "".join(parts)


def _collect_text(element: etree._Element, parts: list[str]) -> None:
    # Recursion is bounded: without huge_tree, libxml2 stops at depth 256.
    if element.text:
        parts.append(element.text)
    for child in element:
        if isinstance(child.tag, str):
            _collect_text(child, parts)
        if child.tail:
            parts.append(child.tail)


def xml_base(element: etree._Element, document_url: str) -> str:
    """The base URL in effect at ``element``: its ``xml:base`` chain resolved on the document URL."""
    bases: list[str] = []
    node: etree._Element | None = element
    while node is not None:
        declared = node.get(XML_BASE)
        if declared:
            bases.append(declared.strip())
        node = node.getparent()
    base = document_url
    for declared in reversed(bases):
        try:
            base = urljoin(base, declared)
        except ValueError:
            continue
    return base
