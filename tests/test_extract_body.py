"""Body cleanup rules, each on trafilatura-style output and a synthetic page."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from newsmon.crawler.extraction import parse_html
from newsmon.crawler.extraction.adapter import body_text
from newsmon.crawler.extraction.body import (
    PageIndex,
    block_text,
    clean_body,
    drop_boilerplate_lines,
    drop_date_lines,
    drop_leading_title,
    drop_link_lists,
    drop_marked_furniture,
    drop_outside_story,
    drop_teaser_links,
    drop_trailing_headings,
    is_date_line,
    keep_embedded_posts,
    merge_split_body,
)

PAGES = Path(__file__).parent / "pages"
LONG = "The volunteers kept the reading room open through the winter and lent more books than before. "


def page(html: str = "<p>x</p>", titles: tuple[str, ...] = (), descriptions: tuple[str, ...] = ()) -> PageIndex:
    tree = parse_html(f"<!DOCTYPE html><html><body>{html}</body></html>")
    assert tree is not None
    return PageIndex(tree, titles=titles, descriptions=descriptions)


def body(xml: str) -> etree._Element:
    return etree.fromstring(f"<body>{xml}</body>")


def texts(element: etree._Element) -> list[str]:
    return [block_text(b) for b in element]


def test_leading_title_is_dropped() -> None:
    """A first block equal to the headline is removed."""
    out = body(f"<head>Bridge opens after six years</head><p>{LONG}</p>")
    drop_leading_title(out, page(titles=("Bridge opens after six years",)))
    assert texts(out) == [LONG.strip()]


def test_leading_title_with_site_suffix_is_dropped() -> None:
    """A block equal to a title candidate minus its "| Site" suffix is removed."""
    out = body(f"<p>Bridge opens after six years</p><p>{LONG}</p>")
    drop_leading_title(out, page(titles=("Bridge opens after six years | The Courier",)))
    assert len(out) == 1


def test_title_later_in_body_is_kept() -> None:
    """The headline repeated deep in the body is not the opening title and stays."""
    xml = f"<p>{LONG}</p><p>{LONG}</p><p>Bridge opens after six years</p>"
    out = body(xml)
    drop_leading_title(out, page(titles=("Bridge opens after six years",)))
    assert len(out) == 3


def test_standfirst_heading_stays_in_the_text() -> None:
    """A heading that repeats the description stays: the standfirst opens ``text`` (see README)."""
    description = "The span links the mill district to the station and cuts a commute by a third."
    out = body(f"<head>{description}</head><p>{LONG}</p>")
    clean_body(out, page(descriptions=(description,)))
    assert texts(out) == [description, LONG.strip()]


@pytest.mark.parametrize(
    "line",
    [
        "Read more: Council approves new bus lanes on the ring road",
        "RELATED: Station car park to close",
        "Advertisement",
        "Sign up for our morning newsletter",
        "Follow Mara Quillon on Twitter",
        "© 2024 The Millbrook Courier. All rights reserved.",
        "Lire aussi : La foire aux bestiaux revient au printemps",
        "À lire également : les horaires d'été",
        "Publicité",
        "Abonnez-vous à notre lettre d'information",
    ],
)
def test_boilerplate_lines_are_dropped(line: str) -> None:
    """Promotion, subscription, social and credit lines in English and French after the story are removed."""
    out = body(f"<p>{LONG}</p><p>{LONG}</p><p>{line}</p>")
    drop_boilerplate_lines(out, page())
    assert line not in texts(out)
    assert len(out) == 2


def test_cross_link_between_paragraphs_stays() -> None:
    """A "Read more:" line between two paragraphs of the story is kept, as other annotations keep it."""
    line = "Read more: Council approves new bus lanes on the ring road"
    out = body(f"<p>{LONG}</p><p>{line}</p><p>{LONG}</p>")
    drop_boilerplate_lines(out, page())
    assert line in texts(out)


@pytest.mark.parametrize("line", ["Advertisement", "Copyright 2024 The Courier. All rights reserved."])
def test_labels_and_credit_lines_go_anywhere(line: str) -> None:
    """An advertising label or a credit line is removed even between paragraphs of the story."""
    out = body(f"<p>{LONG}</p><p>{line}</p><p>{LONG}</p>")
    drop_boilerplate_lines(out, page())
    assert len(out) == 2


@pytest.mark.parametrize(
    "line",
    [
        "Readers of the Courier raised the money in three weeks.",
        "Lire un livre par semaine, c'est l'objectif des bénévoles.",
        "Read more " + LONG * 4,
    ],
)
def test_prose_is_not_boilerplate(line: str) -> None:
    """Sentences that merely share a first word with a cue, and long paragraphs, stay."""
    out = body(f"<p>{line}</p>")
    drop_boilerplate_lines(out, page())
    assert len(out) == 1


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Updated: March 14, 2024 8:30 a.m.", True),
        ("Publié le 14 mars 2024 à 08h30", True),
        ("14/03/2024 - 09:30", True),
        ("Thursday 14 March 2024", True),
        ("4:14 p.m.", False),
        ("Top 10 films of 2024", False),
        ("The council met on March 14, 2024 to approve the budget for the coming year.", False),
    ],
)
def test_date_lines(line: str, expected: bool) -> None:
    """A line that only states a date is recognised; times alone, titles with a year and sentences are not."""
    assert is_date_line(line) is expected
    out = body(f"<p>{line}</p>")
    drop_date_lines(out, page())
    assert (len(out) == 0) is expected


def test_trailing_headings_are_dropped() -> None:
    """Headings that end the body, with nothing under them, are removed; inner headings stay."""
    out = body(
        f"<p>{LONG}</p><head>Inner heading</head><p>{LONG}</p><head>More from the Courier</head><head>Latest</head>"
    )
    drop_trailing_headings(out, page())
    assert texts(out) == [LONG.strip(), "Inner heading", LONG.strip()]


def test_teaser_links_after_the_story_are_dropped() -> None:
    """A paragraph that is one link of four or more words is removed after the last prose paragraph."""
    html = """<a href="/1">Station car park to close for resurfacing</a> <a href="/2">Car parks</a>
    <p>The <a href="/3">council said</a> the work would take a month.</p>"""
    out = body(
        "<p>The council said the work would take a month.</p>"
        "<p>Station car park to close for resurfacing</p><p>Car parks</p>"
    )
    drop_teaser_links(out, page(html))
    assert texts(out) == ["The council said the work would take a month.", "Car parks"]


def test_inline_teaser_link_between_paragraphs_stays() -> None:
    """A linked headline between two paragraphs of the story is part of the story and stays."""
    html = '<a href="/1">Station car park to close for resurfacing</a>'
    out = body(f"<p>{LONG}</p><p>Station car park to close for resurfacing</p><p>{LONG}</p>")
    drop_teaser_links(out, page(html))
    assert len(out) == 3


def test_teaser_links_without_spaces_are_counted_by_characters() -> None:
    """A Chinese or Japanese linked headline, written without spaces, counts as a teaser."""
    headline = "市立図書館が冬の開館時間を延長"
    out = body(f"<p>{LONG}</p><p>{headline}</p>")
    drop_teaser_links(out, page(f'<a href="/1">{headline}</a>'))
    assert texts(out) == [LONG.strip()]


def test_link_lists_are_dropped() -> None:
    """A list whose every item is mostly link text is removed; a list of plain items stays."""
    html = """<ul><li><a href="/1">Council approves new bus lanes</a> Local</li>
    <li><a href="/2">Mill district flats win an award</a></li></ul>
    <ul><li>Two eggs</li><li>A cup of <a href="/flour">flour</a> and some water</li></ul>"""
    out = body(
        "<list><item>Council approves new bus lanes Local</item><item>Mill district flats win an award</item></list>"
        "<list><item>Two eggs</item><item>A cup of flour and some water</item></list>"
    )
    drop_link_lists(out, page(html))
    assert [len(list(b)) for b in out] == [2]
    assert "Two eggs" in texts(out)[0]


def split_page(between: str = '<div class="ad">Advertisement</div>', second_article: bool = False) -> str:
    first = "".join(f"<p>First part, paragraph {i}. {LONG}</p>" for i in range(3))
    second = "".join(f"<p>Second part, paragraph {i}. {LONG}{LONG}</p>" for i in range(2))
    if second_article:
        return (
            f'<article><div class="story-body">{first}</div></article>{between}'
            f'<article><div class="story-body">{second}</div></article>'
        )
    return f'<article><div class="story-body">{first}</div>{between}<div class="story-body">{second}</div></article>'


def first_part_body() -> etree._Element:
    return body("".join(f"<p>First part, paragraph {i}. {LONG}</p>" for i in range(3)) + "<p>Written by M. Q.</p>")


def test_split_body_is_merged_in_document_order() -> None:
    """Paragraphs of a sibling container with the same class are inserted after the first part."""
    out = first_part_body()
    merge_split_body(out, page(split_page()))
    found = texts(out)
    assert [t.split(".")[0] for t in found] == [
        "First part, paragraph 0",
        "First part, paragraph 1",
        "First part, paragraph 2",
        "Second part, paragraph 0",
        "Second part, paragraph 1",
        "Written by M",
    ]


def test_split_body_ignores_next_article() -> None:
    """A same-class container in another <article> (an appended next story) is not merged."""
    out = first_part_body()
    merge_split_body(out, page(split_page(second_article=True)))
    assert len(out) == 4


def test_split_body_stops_at_new_headline() -> None:
    """A same-class container after a new <h1> belongs to another story and is not merged."""
    out = first_part_body()
    merge_split_body(out, page(split_page(between="<h1>Next story</h1>")))
    assert len(out) == 4


def test_split_body_page_end_to_end() -> None:
    """On the split-body test page, cleanup restores both parts of the story."""
    html = (PAGES / "split_body.html").read_text(encoding="utf-8")
    tree = parse_html(html)
    assert tree is not None
    out = body(
        "".join(f"<p>{' '.join(p.text_content().split())}</p>" for p in tree.xpath("//div[@class='story-body'][1]/p"))
    )
    clean_body(out, PageIndex(tree, titles=("How a small library became the busiest room in town",)))
    assert any(t.startswith("The county has since asked") for t in texts(out))
    assert len(out) == 5


def test_embedded_tweet_wrappers_lose_their_class() -> None:
    """The social-embed wrappers of a tweet lose class and id; the article container keeps its own."""
    tree = parse_html(
        '<!DOCTYPE html><html><body><article class="story"><p>' + LONG * 3 + "</p>"
        '<div class="social-embed widget" id="embed-1"><blockquote class="twitter-tweet"><p>What a morning.</p>'
        "&mdash; Cyclists (@cyc)</blockquote></div></article></body></html>"
    )
    assert tree is not None
    keep_embedded_posts(tree)
    wrapper = tree.xpath("//blockquote")[0].getparent()
    assert "class" not in wrapper.attrib
    assert "id" not in wrapper.attrib
    assert tree.xpath("//article")[0].get("class") == "story"


@pytest.mark.parametrize("marks", ['class="share-tools"', 'id="newsletter-box"', 'class="c-promo__text"'])
def test_lines_in_marked_furniture_are_dropped(marks: str) -> None:
    """A short line whose page container's class or id says share, newsletter or promo is removed, in any language."""
    line = "分享到微信 Partager sur les réseaux"
    html = f"<article><div class='story'><p>{LONG}</p><div {marks}><span>{line}</span></div></div></article>"
    out = body(f"<p>{LONG}</p><p>{line}</p>")
    drop_marked_furniture(out, page(html))
    assert texts(out) == [LONG.strip()]


def test_short_paragraph_in_the_story_container_stays() -> None:
    """A short paragraph whose only marked ancestor is the story's large container is kept."""
    line = "The council will vote on Monday."
    html = f"<div class='post-meta-wrapper'><p>{LONG}</p><p>{line}</p><p>{LONG}</p></div>"
    out = body(f"<p>{LONG}</p><p>{line}</p><p>{LONG}</p>")
    drop_marked_furniture(out, page(html))
    assert line in texts(out)


def test_lines_after_the_story_outside_its_container_are_dropped() -> None:
    """Short lines after the last paragraph that the page puts outside the story's container (a footer) go."""
    footer = "京ICP备00000000号"
    html = f"<div class='story'><p>{LONG} One.</p><p>{LONG} Two.</p></div><footer><span>{footer}</span></footer>"
    out = body(f"<p>{LONG} One.</p><p>{LONG} Two.</p><p>{footer}</p>")
    drop_outside_story(out, page(html))
    assert len(out) == 2
    assert footer not in texts(out)


def test_much_text_after_the_story_outside_its_container_stays() -> None:
    """When the text after the last paragraph outweighs half the story, it is the page's matter and stays."""
    items = "".join(f"<li>Tool {i} examines the structure of a page</li>" for i in range(6))
    html = f"<div class='intro'><p>{LONG} One.</p><p>{LONG} Two.</p></div><ul>{items}</ul>"
    listed = "".join(f"<item>Tool {i} examines the structure of a page</item>" for i in range(6))
    out = body(f"<p>{LONG} One.</p><p>{LONG} Two.</p><list>{listed}</list>")
    drop_outside_story(out, page(html))
    assert len(out) == 3


def test_body_text_has_no_blank_lines() -> None:
    """Blocks of only spaces or tabs leave no blank line in the text, and lines carry no edge whitespace."""
    out = body(f"<p>{LONG}</p><p>\t\t </p><p>   </p><p>  Second paragraph.</p>")
    assert body_text(out) == f"{LONG.strip()}\nSecond paragraph."
