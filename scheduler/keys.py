"""Every Redis key newsmon uses, in one place.

All keys share the hash tag ``{<prefix>}`` so that a Lua script may touch any of them on a
Redis Cluster too (they land in one slot). Structures that grow carry a TTL or a bound; the
comment beside each says which.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Consumer group of the poll-job stream (workers).
WORKERS_GROUP = "workers"


@dataclass(frozen=True, slots=True)
class Keys:
    """Key names under one prefix (default ``newsmon``)."""

    prefix: str = "newsmon"

    @property
    def tag(self) -> str:
        return "{" + self.prefix + "}"

    # -- streams ---------------------------------------------------------------------------
    @property
    def articles(self) -> str:
        """The article feed (stream). Trimmed by age/length on every append."""
        return f"{self.tag}:articles"

    @property
    def jobs(self) -> str:
        """Poll jobs for workers (stream, consumer group ``workers``). Trimmed on ack."""
        return f"{self.tag}:jobs"

    @property
    def dropped(self) -> str:
        """Stubs of the stories the topic dropped (stream; trimmed to 7 days and 20,000 entries on
        every append, TTL 7 days; see ``newsmon.scheduler.dropped``)."""
        return f"{self.tag}:dropped"

    def job_pending(self, source: str) -> str:
        """The stream ID of the poll job of ``source`` while it is queued or running (string, no TTL)."""
        return f"{self.tag}:job:{source}"

    # -- dedup state -----------------------------------------------------------------------
    def seen_urls(self, generation: int, bucket: int) -> str:
        """Seen canonical URLs, one intset of 64-bit hashes per bucket (TTL: window + generation)."""
        return f"{self.tag}:seen:u:{generation}:{bucket}"

    def seen_texts(self, generation: int, bucket: int) -> str:
        """Seen exact text fingerprints (same layout and TTL as ``seen_urls``)."""
        return f"{self.tag}:seen:t:{generation}:{bucket}"

    def stories(self, generation: int, bucket: int) -> str:
        """Published stories' fingerprints and revision, packed, one hash per bucket (field:
        the story id's 8 bytes; TTL: window + generation). Replaces one key per story."""
        return f"{self.tag}:stories:{generation}:{bucket}"

    @property
    def recheck(self) -> str:
        """Stories to fetch again, scored by due time (sorted set; overdue entries trimmed, TTL)."""
        return f"{self.tag}:recheck"

    def near_band(self, generation: int, band: int, bucket: int) -> str:
        """Near-duplicate index: stories by one min-hash anchor band of their text (string of
        packed 20-byte records: anchor key, SimHash, cluster; TTL = near window + generation)."""
        return f"{self.tag}:near:{generation}:{band}:{bucket}"

    def title_index(self, generation: int, bucket: int) -> str:
        """Near-duplicate index: stories by normalized headline (string of 20-byte records like
        ``near_band``; TTL = near window + generation)."""
        return f"{self.tag}:title:{generation}:{bucket}"

    # -- fetch state -----------------------------------------------------------------------
    def validators(self, url: str) -> str:
        """ETag, Last-Modified and body hash of one feed or sitemap URL (hash, TTL 30 days)."""
        return f"{self.tag}:http:{url}"

    def host_block(self, host: str) -> str:
        """Set until a host's Retry-After expires (string with TTL)."""
        return f"{self.tag}:retry-after:{host}"

    def host_state(self, host: str) -> str:
        """A host's politeness for every worker: earliest start of its next request and its
        Crawl-delay, in ms (hash; TTL 1 day, renewed on each grant; see ``hosts.py``)."""
        return f"{self.tag}:host:{host}"

    def host_leases(self, host: str) -> str:
        """Requests in flight to a host: lease token -> expiry in ms (sorted set; expired
        members dropped on each grant; TTL: the longest lease)."""
        return f"{self.tag}:host-leases:{host}"

    def host_grants(self, host: str) -> str:
        """A host's last request grants, newest first, "<start ms> <token>" (list, capped at
        ``hosts.GRANTS_KEPT``; TTL 1 day)."""
        return f"{self.tag}:host-grants:{host}"

    def robots(self, origin: str) -> str:
        """robots.txt of one ``scheme://host[:port]``: outcome, body, expiry (hash, TTL 30 days)."""
        return f"{self.tag}:robots:{origin}"

    # -- daemon ----------------------------------------------------------------------------
    def source_state(self, source: str) -> str:
        """Per-source counters and timestamps shown by ``newsmon status`` (hash, bounded)."""
        return f"{self.tag}:source:{source}"

    @property
    def sources(self) -> str:
        """Names of the sources the scheduler knows (set, bounded by the config)."""
        return f"{self.tag}:sources"

    @property
    def daemon_lock(self) -> str:
        """Held by the one scheduler daemon (``run`` or ``scheduler``) of this prefix: its
        ``host:pid:instance`` (string, TTL refreshed while it runs; see scheduler/instance.py)."""
        return f"{self.tag}:daemon-lock"

    def health(self, role: str, name: str) -> str:
        """Heartbeat of a running process (string with a short TTL)."""
        return f"{self.tag}:health:{role}:{name}"

    @property
    def host_stats(self) -> str:
        """Cumulative politeness counters per host, field ``<host>|<counter>`` (hash, bounded by
        ``host_stats.MAX_HOSTS`` hosts; see ``newsmon.scheduler.host_stats``)."""
        return f"{self.tag}:host-stats"

    @property
    def alerts(self) -> str:
        """The alerts in force, field ``<kind>:<source>``, value JSON (hash, bounded by the config's
        sources times the alert kinds; see ``newsmon.scheduler.alerts``)."""
        return f"{self.tag}:alerts"

    def dead_letters(self, sink: str) -> str:
        """Records a sink gave up on (list, capped)."""
        return f"{self.tag}:dead:{sink}"

    def feed_holding(self, group: str) -> str:
        """What each consumer of a feed group holds while it works: field consumer, value the
        stream ID it was handed alone, or ``*`` for a batch; deleted on a clean stop (hash, TTL
        a week, refreshed on every read). Tells a crash on one record from a restart."""
        return f"{self.tag}:feed-holding:{group}"

    def feed_requeue(self, group: str) -> str:
        """Dead letters put back for one group to read again: field stream ID, value JSON of
        the entry's fields and deliveries (hash; bounded by the dead-letter lists it came from)."""
        return f"{self.tag}:feed-requeue:{group}"

    def sink_lock(self, sink: str) -> str:
        """Held by the one process delivering a sink, which keeps it in order (string, TTL)."""
        return f"{self.tag}:sink-lock:{sink}"
