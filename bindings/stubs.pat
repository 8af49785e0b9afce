# nanobind stubgen patterns: stub entries for what is not a nanobind function
# or class (the plain CPython IngestResult, StoredEvent and Task, and the fast
# methods).
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

StoredEvent$:
    class StoredEvent:
        """An event returned by poll()."""

        @property
        def id(self) -> str:
            """The event's id in its backend."""

        @property
        def raw(self) -> str:
            """The event's text ("" if its bytes are not UTF-8)."""

        @property
        def insertion_ts(self) -> int:
            """Insertion time, CLOCK_MONOTONIC nanoseconds."""

        @property
        def shard_id(self) -> int:
            """Shard the event was stored in."""

        def parse(self) -> Any:
            """The event's JSON as Python objects (json.loads semantics)."""

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

Task$:
    class Task:
        """A task as the fold holds it."""

        @property
        def id(self) -> int: ...
        @property
        def title(self) -> str: ...
        @property
        def status(self) -> str:
            """"pending" or "completed"."""

        @property
        def created_ns(self) -> int: ...
        @property
        def updated_ns(self) -> int: ...
        def __eq__(self, other: object) -> bool: ...
        def __hash__(self) -> int: ...

Memory$:
    class Memory:
        """A memory as the fold holds it."""

        @property
        def id(self) -> int: ...
        @property
        def content(self) -> str: ...
        @property
        def tags(self) -> list[str]:
            """A new list on each access."""

        @property
        def source(self) -> str: ...
        @property
        def created_ns(self) -> int: ...
        @property
        def updated_ns(self) -> int: ...
        @property
        def pinned(self) -> bool: ...
        def __eq__(self, other: object) -> bool: ...
        def __hash__(self) -> int: ...
