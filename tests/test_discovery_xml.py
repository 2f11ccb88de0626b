"""The safe XML layer: hostile bodies (entities, XXE, bombs) and real-world encoding damage."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import pytest
from lxml import etree

from newsmon.crawler.discovery.feeds import parse_feed
from newsmon.crawler.discovery.xml import decompress, iter_xml, text_of
from newsmon.crawler.items import DiscoveryError

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss><channel><title>before &lol9; after</title></channel></rss>"""


def parse_xml(body: bytes) -> tuple[etree._Element, bool]:
    """The whole document through :func:`iter_xml`, as feeds and sitemaps read it: no tag is
    asked for, so everything stays under the root. Returns the root and ``degraded``."""
    stream = iter_xml(body, ["{urn:newsmon:tests}nothing"])
    assert list(stream) == []
    assert stream.root is not None
    return stream.root, stream.degraded


def _secret_file(tmp_path: Path) -> Path:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    return secret


def _unsafe_text(body: bytes) -> str:
    """What a naive lxml parser reads from ``body``: proves the fixture really is an attack."""
    parser = etree.XMLParser(resolve_entities=True, load_dtd=True, no_network=True)
    return "".join(etree.fromstring(body, parser).itertext())


SMALL_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
]>
<rss><channel><title>before &lol1; after</title></channel></rss>"""


def test_internal_entities_are_not_expanded() -> None:
    """Internal entity references stay unexpanded; the text around them survives."""
    root, degraded = parse_xml(SMALL_LAUGHS)
    title = root.find("channel/title")
    assert title is not None
    assert (text_of(title), degraded) == ("before  after", False)


def test_billion_laughs_is_not_expanded() -> None:
    """A billion-laughs body expands nothing: libxml2 stops at the entity and we recover."""
    root, degraded = parse_xml(BILLION_LAUGHS)
    assert "lol" not in text_of(root)
    assert degraded is True


def test_billion_laughs_in_a_stream_is_not_expanded() -> None:
    """The streaming parser has the same protection as the tree parser."""
    stream = iter_xml(BILLION_LAUGHS, ["title"])
    texts = [text_of(element) for element in stream]
    assert not any("lol" in text for text in texts)
    assert stream.degraded is True


def test_external_entity_does_not_read_the_file(tmp_path: Path) -> None:
    """An XXE entity pointing at a local file is never resolved."""
    secret = _secret_file(tmp_path)
    body = (
        f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "{secret.as_uri()}">]>'
        "<rss><channel><title>a&x;b</title></channel></rss>"
    ).encode()
    assert "TOP-SECRET" in _unsafe_text(body)
    root, _degraded = parse_xml(body)
    title = root.find("channel/title")
    assert title is not None
    assert text_of(title) == "ab"


def test_external_dtd_is_not_loaded(tmp_path: Path) -> None:
    """A DOCTYPE naming an external DTD that defines an entity does not load it."""
    secret = _secret_file(tmp_path)
    dtd = tmp_path / "evil.dtd"
    dtd.write_text(f'<!ENTITY x SYSTEM "{secret.as_uri()}">')
    body = f'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "{dtd.as_uri()}"><rss><title>a&x;b</title></rss>'.encode()
    assert "TOP-SECRET" in _unsafe_text(body)
    root, _degraded = parse_xml(body)
    assert "TOP-SECRET" not in text_of(root)


def test_parameter_entity_xxe_does_not_read_the_file(tmp_path: Path) -> None:
    """The parameter-entity variant of XXE does not load its external subset either."""
    secret = _secret_file(tmp_path)
    body = (
        f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY % ext SYSTEM "{secret.as_uri()}"> %ext;]>'
        "<rss><title>ok</title></rss>"
    ).encode()
    root, _degraded = parse_xml(body)
    assert text_of(root) == "ok"


def test_well_formed_document_is_not_degraded() -> None:
    """A clean document parses strictly: degraded is false."""
    root, degraded = parse_xml(b'<?xml version="1.0"?><a><b>x</b></a>')
    assert root.tag == "a"
    assert degraded is False


def test_malformed_document_is_recovered_and_degraded() -> None:
    """Unclosed tags and stray ampersands are recovered; degraded is true."""
    root, degraded = parse_xml(b"<rss><channel><title>A & B</title><item><title>x</titl></item>")
    assert degraded is True
    assert root.find("channel/item") is not None


def test_utf8_bom_and_leading_whitespace_are_skipped() -> None:
    """A BOM and blank lines before the XML declaration do not break or degrade the parse."""
    body = b'\xef\xbb\xbf\n\n  <?xml version="1.0" encoding="utf-8"?><a>caf\xc3\xa9</a>'
    root, degraded = parse_xml(body)
    assert (root.text, degraded) == ("café", False)


def test_garbage_before_declaration_is_skipped_and_reported() -> None:
    """A PHP warning printed before <?xml is cut off; the document reads but is degraded."""
    body = b'<br />\n<b>Warning</b>: headers already sent in x.php<br />\n<?xml version="1.0"?><a>ok</a>'
    root, degraded = parse_xml(body)
    assert (root.tag, root.text, degraded) == ("a", "ok", True)


def test_utf8_header_over_windows_1252_bytes_is_readable() -> None:
    """A UTF-8 declaration over windows-1252 bytes still gives the right characters."""
    body = '<?xml version="1.0" encoding="UTF-8"?><a>caf\u00e9 \u201cquoted\u201d \u20ac5</a>'.encode("cp1252")
    root, _degraded = parse_xml(body)
    assert root.text == "café “quoted” €5"


def test_mostly_utf8_with_one_stray_byte_keeps_the_utf8() -> None:
    """A UTF-8 body with a single windows-1252 byte keeps its UTF-8 text intact."""
    body = '<?xml version="1.0"?><a>déjà vu '.encode() + b"\x93x\x94</a>"
    root, _degraded = parse_xml(body)
    assert root.text == "déjà vu “x”"


def test_latin1_label_reads_windows_1252_punctuation() -> None:
    """An iso-8859-1 label is read as windows-1252, like browsers do, so smart quotes survive."""
    body = '<?xml version="1.0" encoding="ISO-8859-1"?><a>\u2019t</a>'.encode("cp1252")
    root, _degraded = parse_xml(body)
    assert root.text == "\u2019t"


def test_latin1_label_over_utf8_bytes_reads_utf8() -> None:
    """A latin-1 label over valid UTF-8 bytes is a lie; the text is read as UTF-8."""
    body = '<?xml version="1.0" encoding="iso-8859-1"?><a>Zürich</a>'.encode()
    root, _degraded = parse_xml(body)
    assert root.text == "Zürich"


def test_other_declared_encodings_are_honoured() -> None:
    """A document in windows-1251 that says so is decoded as windows-1251."""
    body = '<?xml version="1.0" encoding="windows-1251"?><a>Привет</a>'.encode("cp1251")
    root, _degraded = parse_xml(body)
    assert root.text == "Привет"


def test_utf16_with_bom_is_read() -> None:
    """A UTF-16 document with a BOM parses."""
    body = '<?xml version="1.0" encoding="UTF-16"?><a>naïve</a>'.encode("utf-16")
    root, _degraded = parse_xml(body)
    assert root.text == "naïve"


def test_unknown_encoding_label_is_read_as_utf8() -> None:
    """An encoding name no codec knows falls back to UTF-8 instead of failing."""
    root, _degraded = parse_xml('<?xml version="1.0" encoding="en-US"?><a>ü</a>'.encode())
    assert root.text == "ü"


def test_gzip_body_is_decompressed() -> None:
    """A gzipped body (magic bytes, whatever the URL says) is parsed transparently."""
    root, degraded = parse_xml(gzip.compress(b"<a>zipped</a>"))
    assert (root.text, degraded) == ("zipped", False)


def test_concatenated_gzip_members_are_one_body() -> None:
    """Two gzip members back to back decompress as one document."""
    body = gzip.compress(b"<a>one ") + gzip.compress(b"two</a>")
    data, problems = decompress(body)
    assert (data, problems) == (b"<a>one two</a>", [])


def test_gzip_bomb_stops_at_the_cap() -> None:
    """100 MB of zeros in 100 KB of gzip decompress to exactly the cap, flagged as truncated."""
    bomb = gzip.compress(b"\0" * (100 * 1024 * 1024), compresslevel=9)
    assert len(bomb) < 200 * 1024
    data, problems = decompress(bomb, max_size=1024 * 1024)
    assert len(data) == 1024 * 1024
    assert problems == ["gzip body larger than 1048576 bytes, truncated"]


def test_gzip_bomb_of_zeros_is_not_a_document() -> None:
    """A bomb of zero bytes is refused as a non-document after the capped decompression."""
    bomb = gzip.compress(b"\0" * (100 * 1024 * 1024), compresslevel=9)
    with pytest.raises(DiscoveryError):
        parse_feed(bomb, "https://a.example/feed")


def test_gzip_bomb_with_xml_prefix_is_degraded() -> None:
    """Valid XML followed by 100 MB of padding keeps what precedes the cap, marked degraded."""
    document = b"<urlset><url><loc>https://a.example/1</loc></url>" + b" " * (100 * 1024 * 1024) + b"</urlset>"
    root, degraded = parse_xml(gzip.compress(document, compresslevel=9))
    assert degraded is True
    assert root.findtext("url/loc") == "https://a.example/1"


def test_cut_off_gzip_keeps_the_readable_part() -> None:
    """A gzip stream cut in the middle yields what decompressed, with a problem noted."""
    compressed = gzip.compress(b"<a>" + b"x" * 200_000 + b"</a>")
    data, problems = decompress(compressed[: len(compressed) // 2])
    assert data.startswith(b"<a>xxx")
    assert problems == ["gzip stream cut off"]


def test_corrupt_gzip_is_refused() -> None:
    """Gzip magic followed by garbage raises DiscoveryError, not zlib.error."""
    with pytest.raises(DiscoveryError, match="gzip"):
        decompress(b"\x1f\x8b" + b"not really gzip at all" * 10)


def test_raw_deflate_without_magic_is_left_alone() -> None:
    """Only the gzip magic triggers decompression; other bytes pass through unchanged."""
    body = zlib.compress(b"<a/>")
    assert decompress(body) == (body, [])


@pytest.mark.parametrize("body", [b"", b"   \n ", b"\xef\xbb\xbf"])
def test_empty_body_is_not_a_document(body: bytes) -> None:
    """Empty and blank bodies raise DiscoveryError."""
    with pytest.raises(DiscoveryError, match="empty"):
        parse_feed(body, "https://a.example/feed")


def test_text_without_any_element_is_not_xml() -> None:
    """Plain text has no root element: DiscoveryError."""
    with pytest.raises(DiscoveryError, match="no XML element could be read"):
        parse_feed(b"Service Unavailable", "https://a.example/feed")


def test_stream_frees_yielded_elements() -> None:
    """Consumed elements are detached, so the root keeps only what was not yielded."""
    stream = iter_xml(b"<r><meta>m</meta><i>1</i><i>2</i><i>3</i></r>", ["i"])
    assert [element.text for element in stream] == ["1", "2", "3"]
    assert stream.root is not None
    assert [child.tag for child in stream.root] == ["meta"]
    assert stream.degraded is False


def test_stream_of_truncated_document_is_degraded() -> None:
    """A document cut mid-way yields the complete elements before the cut and is degraded."""
    stream = iter_xml(b"<r><i>1</i><i>2</i><i>3", ["i"])
    assert [element.text for element in stream][:2] == ["1", "2"]
    assert stream.degraded is True


def test_deep_nesting_is_bounded() -> None:
    """Nesting beyond libxml2's default depth limit is cut off, not followed into a crash."""
    body = b"<a>" * 100_000 + b"x" + b"</a>" * 100_000
    root, degraded = parse_xml(body)
    assert root.tag == "a"
    assert degraded is True
