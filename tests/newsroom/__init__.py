"""The newsroom: a synthetic set of news outlets that end-to-end tests crawl over loopback.

Every outlet listens on its own loopback address (127.0.0.2, 127.0.0.3, ...; Linux routes all of
127/8 to lo, macOS needs aliases) and one shared port, and serves feeds, sitemaps, a home page,
article pages with realistic boilerplate and a control API. All text is invented.

In-process::

    from tests.newsroom import Newsroom

    with Newsroom(outlets=4, port=0, seed=1, now=None) as room:  # listening when the block starts
        room.port, room.now                    # the shared port; the room's "now" (aware UTC)
        room.outlets                           # [Outlet(name, title, host, port, language, base_url,
                                               #   home, robots, feeds, sitemaps, pages, documents)]
        room.outlet("wire-en"), room.articles_of("wire-en")
        room.articles                          # [Article(key, outlet, url, canonical_url, feed_url,
                                               #   aliases, title, description, published, modified,
                                               #   language, section, authors, paragraphs, on_topic,
                                               #   image_url)], newest first
        room.lookup(url)                       # the Article served at any of its URLs, or None
        room.publish("wire-en", title=..., paragraphs=[...], on_topic=...)  # -> Article; thread-safe
        room.publish("journal-fr")             # text from an unused reserve story (on-topic)
        room.revise(url, paragraphs=[...])     # change a published article (title, paragraphs,
                                               #   description); its modified time becomes now
        room.break_feed("gazette-en", "atom", "not-xml")   # or "500", "404", "truncated",
                                                          # "empty"; "ok" repairs; returns the path
        room.requests(outlet=None, path=None)  # the request log; room.reset_log()
        room.config_yaml(interval="2s", topic=False, only=None, **extra)  # newsmon config text
        room.snapshot()                        # Snapshot(port, seed, now, outlets, articles)

``Newsroom(...).start()`` / ``.stop()`` do the same without ``with``; the pytest fixture
``tests.newsroom.fixtures.newsroom`` gives a fresh room per test. ``now`` is injectable: default
articles are published 20 minutes to 47 hours before it and the room's clock runs on from it
(published articles get the clock's time).

As a process (``python -m tests.newsroom --help``)::

    python -m tests.newsroom --port 0 --outlets 4 [--seed 1] [--now ISO] \\
        [--config-out FILE [--interval 2s] [--topic]] [--state-file FILE]

prints ``newsroom: ready on port P`` (flushed) once listening, after writing both files; the
state file (JSON, read it with ``load_state``) is rewritten after every publish and break. It
exits 0 on SIGTERM or SIGINT.

Control API, answered by every outlet for the whole room (JSON; not in the request log):

- ``POST /_control/publish`` ``{"outlet": "wire-en", "article": {"title": ..., "paragraphs": [...],
  "on_topic": true, ...}}`` -> 201 and the article; the fields are those of ``publish()``,
  ``published`` as ISO 8601. ``"outlet"`` defaults to the outlet asked.
- ``POST /_control/break`` ``{"outlet": ..., "what": "rss", "mode": "not-xml"}`` -> the path.
- ``GET /_control/requests[?outlet=&path=&method=]`` -> ``[{time, outlet, method, host, path,
  query, status, headers, started, ended, start_event, end_event}]``, header names Title-Cased
  (``If-None-Match``, ``User-Agent``); ``started``/``ended`` are Unix times of the handler's start
  and end, ``start_event``/``end_event`` their order among all requests of the room (for "was
  another request in flight" without comparing clock readings).
- ``POST /_control/reset-log`` -> ``{"cleared": n}``; ``GET /_control/state`` -> the snapshot.

Outlets (a room with more than four repeats them as ``wire-en-2``, ... with no articles):

============  =========  ====  =========================================================
outlet        address    lang  discovery documents (``what`` for break_feed)
============  =========  ====  =========================================================
wire-en       127.0.0.2  en    ``/rss.xml`` RSS 2.0, dc:creator, ttl 5 (rss);
                               ``/sitemap-news.xml`` Google News sitemap (sitemap)
gazette-en    127.0.0.3  en    ``/atom.xml`` Atom (atom); ``/sitemap.xml`` sitemap index
                               (sitemap) -> ``/sitemap-news.xml.gz`` gzip news sitemap
                               (sitemap-news)
journal-fr    127.0.0.4  fr    ``/rdf.xml`` RSS 1.0 with dc:date, sy:updatePeriod (rdf);
                               ``/sitemap.xml`` urlset (sitemap)
quotidien-fr  127.0.0.5  fr    ``/rss.xml`` RSS 2.0, CDATA, +0100 dates (rss); ``/sitemap.xml``
                               urlset (sitemap); ``/monde/`` section page (section)
============  =========  ====  =========================================================

Every outlet also serves ``/`` (with ``<link rel="alternate">`` to its feed; the Gazette's is
``application/atom+xml``), ``/robots.txt`` (all allowed but ``/private/``, which answers 403;
``GPTBot`` refused; ``Sitemap:`` lines) and ``/img/<slug>.png``. Feeds, sitemaps, robots, home,
section and article pages carry ``ETag`` and ``Last-Modified`` and answer 304 to a matching
``If-None-Match`` (or, without it, ``If-Modified-Since``); text is gzip-compressed when the
client accepts it. Article URLs: wire-en ``/YYYY/MM/DD/slug.html``; gazette-en
``/section/YYYY/MM/DD/slug/``; journal-fr ``/section/article/YYYY/MM/DD/slug_NNNNNNN.html``;
quotidien-fr ``/section/YYYY/MM/DD/slug.html``, dates in the outlet's zone (French: +01:00).

The default corpus: 24 articles, six per outlet, three of them on-topic (US military involvement
in the Israel-Hamas war and the wider Middle East); off-topic ones never contain the topic's
words (see ``topic.forbidden_words``), in the text or in their pages' boilerplate, though
"Airline adds three routes to the Middle East" matches the ``region`` group only. Two special
articles: wire-en's feed lists "Pentagon sends more troops to Jordan after drone strike" as
``url + "?utm_source=rss&utm_medium=feed#comments"`` (``feed_url``); quotidien-fr's "Jordanie :
Washington renforce sa défense aérienne après une attaque" is also served at ``/amp/...``
(``aliases``; the /monde/ page links that one) with the same ``rel=canonical``. Sitemaps list
clean article URLs only. Each page's ``<p>`` elements in the article body hold exactly
``Article.paragraphs`` (4 to 8 paragraphs of 60 to 120 words).
"""

from __future__ import annotations

from tests.newsroom.model import Article, Outlet, Snapshot, load_state
from tests.newsroom.room import Newsroom
from tests.newsroom.topic import TOPIC, forbidden_words, matches

__all__ = ["TOPIC", "Article", "Newsroom", "Outlet", "Snapshot", "forbidden_words", "load_state", "matches"]
