# nanobind stubgen patterns: stub entries for what is not a nanobind function
# or class (the plain CPython IngestResult and the fast Net methods).
IngestResult$:
    class IngestResult:
        """Where and when an event was stored."""

        @property
        def shard_id(self) -> int:
            """Shard the event was stored in."""

        @property
        def timestamp(self) -> int:
            """Insertion time, CLOCK_MONOTONIC nanoseconds."""

        def __repr__(self) -> str: ...

Net.ingest_raw$:
    def ingest_raw(self, json: str) -> IngestResult | None:
        """Stores the text as one event; None if drop_newest refused it."""

Net.ingest$:
    def ingest(self, event: dict) -> IngestResult | None:
        """Stores json.dumps(event) as one event."""

RedexFile.append$:
    def append(self, payload: bytes) -> int:
        """Appends one event; returns its sequence number."""
