"""Paging with `poll(limit, cursor=next_id)`: exactly-once delivery (also under
concurrent producers), has_more/next_id, insertion_ts ordering, filters, cursors."""

from __future__ import annotations

import base64
import json
import threading
from concurrent.futures import ThreadPoolExecutor

import net
import pytest
from conftest import (
    NO_FILTER_VARIANT,
    SMALLEST_CAPACITY,
    Tail,
    assert_exactly_once_in_shard_order,
    decode_cursor,
    drain,
    encode_cursor,
    raws,
    shard_for,
)
from hypothesis import assume, given
from hypothesis import strategies as st

PAYLOADS = [json.dumps({"i": i, "kind": ["a", "b", "c"][i % 3]}) for i in range(500)]


@pytest.fixture
def sharded_bus(make_bus):
    """Four shards holding PAYLOADS."""
    bus = make_bus(num_shards=4, ring_buffer_capacity=SMALLEST_CAPACITY)
    assert bus.ingest_raw_batch(PAYLOADS) == len(PAYLOADS)
    return bus


# --- exactly once, single-threaded ------------------------------------------------------


@pytest.mark.parametrize("limit", [1, 2, 7, 64, 499, 500, 501, 10_000])
@pytest.mark.parametrize("ordering", [None, "none", "insertion_ts"])
def test_paging_delivers_every_event_exactly_once(sharded_bus, limit, ordering):
    events, _ = drain(sharded_bus, limit, ordering=ordering)
    assert_exactly_once_in_shard_order(events, PAYLOADS)


def test_pages_hold_at_most_limit_and_only_the_last_has_no_more(sharded_bus):
    cursor, sizes = None, []
    while True:
        page = sharded_bus.poll(64, cursor=cursor)
        sizes.append(len(page))
        cursor = page.next_id
        if not page.has_more:
            break
    assert sum(sizes) == len(PAYLOADS)
    assert all(size == 64 for size in sizes[:-1]) and 0 < sizes[-1] <= 64


def test_has_more_is_false_when_the_page_takes_exactly_the_rest(bus):
    bus.ingest_raw_batch([str(i) for i in range(10)])
    assert bus.poll(9).has_more is True
    page = bus.poll(10)
    assert len(page) == 10 and page.has_more is False


def test_a_caught_up_cursor_returns_nothing_and_itself(sharded_bus):
    _, cursor = drain(sharded_bus, 100)
    page = sharded_bus.poll(100, cursor=cursor)
    assert (page.events, page.next_id, page.has_more) == ([], cursor, False)


def test_polling_an_empty_bus_keeps_a_none_cursor(bus):
    page = bus.poll(100)
    assert (page.events, page.next_id, page.has_more) == ([], None, False)


def test_new_events_are_picked_up_from_a_caught_up_cursor(sharded_bus):
    tail = Tail(sharded_bus)
    assert len(tail.read(50)) == len(PAYLOADS)
    later = [json.dumps({"later": i}) for i in range(30)]
    sharded_bus.ingest_raw_batch(later)
    assert sorted(raws(tail.read(7))) == sorted(later)
    assert tail.read() == []


def test_limit_zero_returns_nothing_and_the_input_cursor(sharded_bus):
    page = sharded_bus.poll(0)
    assert (page.events, page.next_id, page.has_more) == ([], None, False)
    cursor = sharded_bus.poll(10).next_id
    page = sharded_bus.poll(0, cursor=cursor)
    assert (page.events, page.next_id, page.has_more) == ([], cursor, False)
    assert len(sharded_bus.poll(10, cursor=cursor)) == 10


def test_a_huge_limit_returns_everything(sharded_bus):
    page = sharded_bus.poll(2**64 - 1)
    assert sorted(raws(page.events)) == sorted(PAYLOADS) and page.has_more is False


def test_old_cursors_stay_readable(sharded_bus):
    first = sharded_bus.poll(100)
    second = sharded_bus.poll(100, cursor=first.next_id)
    drain(sharded_bus, 100, second.next_id)
    again_first = sharded_bus.poll(100)
    again_second = sharded_bus.poll(100, cursor=first.next_id)
    assert raws(again_first.events) == raws(first.events)
    assert raws(again_second.events) == raws(second.events)
    assert [e.id for e in again_second] == [e.id for e in second]
    assert again_second.next_id == second.next_id


def test_cursor_maps_each_shard_to_its_last_delivered_id(sharded_bus):
    page = sharded_bus.poll(37)
    last_id = {}
    for event in page.events:
        last_id[str(event.shard_id)] = event.id
    assert decode_cursor(page.next_id) == last_id


def test_a_forged_cursor_in_the_documented_format_resumes_after_its_position(bus):
    numbers = [str(i) for i in range(10)]
    bus.ingest_raw_batch(numbers)
    assert raws(bus.poll(100, cursor=encode_cursor({"0": "3"})).events) == numbers[4:]
    assert raws(bus.poll(100, cursor=encode_cursor({})).events) == numbers


# --- exactly once, concurrently -----------------------------------------------------------


PRODUCERS = 4
EVENTS_PER_PRODUCER = 4000
BATCH = 100


def produce(bus, producer: int, use_batch: bool, start: threading.Barrier) -> None:
    payloads = [json.dumps({"p": producer, "i": i}) for i in range(EVENTS_PER_PRODUCER)]
    start.wait()
    if use_batch:
        for offset in range(0, len(payloads), BATCH):
            assert bus.ingest_raw_batch(payloads[offset : offset + BATCH]) == BATCH
    else:
        for payload in payloads:
            assert bus.ingest_raw(payload) is not None


def expected_payloads() -> list[str]:
    return [
        json.dumps({"p": p, "i": i}) for p in range(PRODUCERS) for i in range(EVENTS_PER_PRODUCER)
    ]


def assert_each_producer_in_order_per_shard(events) -> None:
    last = {}
    for event in events:
        body = event.parse()
        key = (event.shard_id, body["p"])
        assert body["i"] > last.get(key, -1), "a producer's events were reordered within a shard"
        last[key] = body["i"]


def poll_while_producing(bus, use_batch: bool, consumers: int, ordering) -> list[list]:
    """Runs PRODUCERS producer threads and `consumers` paging consumer threads (each with
    its own cursor) at once; returns what each consumer received."""
    start = threading.Barrier(PRODUCERS + consumers)
    producers_done = threading.Event()

    def consume() -> list:
        tail, received = Tail(bus), []
        start.wait()
        while not producers_done.is_set():
            received.extend(tail.read(257, ordering=ordering))
        received.extend(tail.read(257, ordering=ordering))
        return received

    with ThreadPoolExecutor(PRODUCERS + consumers) as pool:
        consuming = [pool.submit(consume) for _ in range(consumers)]
        producing = [pool.submit(produce, bus, p, use_batch, start) for p in range(PRODUCERS)]
        try:
            for future in producing:
                future.result()
        finally:
            producers_done.set()
        return [future.result() for future in consuming]


@pytest.mark.parametrize("use_batch", [False, True], ids=["ingest_raw", "ingest_raw_batch"])
@pytest.mark.parametrize("ordering", ["none", "insertion_ts"])
def test_concurrent_producers_and_a_paging_consumer_see_each_event_once(
    make_bus, use_batch, ordering
):
    bus = make_bus(num_shards=4, ring_buffer_capacity=1 << 15)
    (received,) = poll_while_producing(bus, use_batch, consumers=1, ordering=ordering)
    assert_exactly_once_in_shard_order(received, expected_payloads())
    assert_each_producer_in_order_per_shard(received)
    assert bus.stats().events_dropped == 0


def test_concurrent_consumers_with_their_own_cursors_each_see_everything(make_bus):
    bus = make_bus(num_shards=3, ring_buffer_capacity=1 << 15)
    for received in poll_while_producing(bus, use_batch=True, consumers=3, ordering="none"):
        assert_exactly_once_in_shard_order(received, expected_payloads())


# --- insertion_ts ordering ----------------------------------------------------------------


@pytest.mark.parametrize("limit", [1, 10, 10_000])
def test_insertion_ts_ordering_is_non_decreasing_across_pages(make_bus, limit):
    bus = make_bus(num_shards=4, ring_buffer_capacity=SMALLEST_CAPACITY)
    for i in range(200):
        bus.ingest_raw(json.dumps({"single": i}))
    bus.ingest_raw_batch(PAYLOADS)
    events, _ = drain(bus, limit, ordering="insertion_ts")
    timestamps = [event.insertion_ts for event in events]
    assert len(timestamps) == 200 + len(PAYLOADS)
    assert timestamps == sorted(timestamps)


def test_insertion_ts_ordering_follows_ingest_order_of_single_events(make_bus):
    bus = make_bus(num_shards=4, ring_buffer_capacity=SMALLEST_CAPACITY)
    payloads = [json.dumps({"n": i}) for i in range(300)]
    for payload in payloads:
        bus.ingest_raw(payload)
    assert raws(bus.poll(1000, ordering="insertion_ts").events) == payloads


@pytest.mark.parametrize("ordering", ["", "None", "NONE", "insertion-ts", "ts", "bogus"])
def test_unknown_ordering_is_rejected(bus, ordering):
    with pytest.raises(ValueError) as info:
        bus.poll(10, ordering=ordering)
    assert info.value.args == (f"Invalid ordering: {ordering}. Use 'none' or 'insertion_ts'",)


# --- filters -------------------------------------------------------------------------------


FILTER_EVENTS = [
    {"kind": "a", "n": 1, "tags": ["x", "y"], "meta": {"owner": "ann", "level": 3}},
    {"kind": "b", "n": 2, "tags": ["y"], "meta": {"owner": "bob", "level": 3}},
    {"kind": "a", "n": 3, "tags": [], "meta": {"owner": "bob", "level": 5}},
    {"kind": "c", "n": 1.5, "tags": ["x"], "meta": {"owner": None}},
]
NOT_JSON = ["not json", "{", ""]


def eq(path: str, value) -> dict:
    return {"path": path, "value": value}


@pytest.fixture
def filter_bus(bus):
    for event in FILTER_EVENTS[:2]:
        bus.ingest(event)
    bus.ingest_raw_batch(NOT_JSON)
    for event in FILTER_EVENTS[2:]:
        bus.ingest(event)
    bus.ingest_raw("7")
    return bus


def matching(bus, predicate) -> list:
    events, _ = drain(bus, 100, filter=json.dumps(predicate))
    return [event.parse() for event in events]


@pytest.mark.parametrize(
    "predicate, expected",
    [
        (eq("kind", "a"), [0, 2]),
        ({"$eq": eq("kind", "b")}, [1]),
        (eq("meta.owner", "bob"), [1, 2]),
        (eq("meta.owner", None), [3]),
        (eq("tags.0", "x"), [0, 3]),
        (eq("tags.1", "y"), [0]),
        (eq("tags", ["y"]), [1]),
        (eq("tags", []), [2]),
        (eq("meta", {"level": 3, "owner": "ann"}), [0]),
        (eq("n", 1.5), [3]),
        (eq("n", 2), [1]),
        (eq("missing", None), []),
        (eq("kind.deeper", "a"), []),
        ({"$and": [eq("kind", "a"), eq("meta.level", 5)]}, [2]),
        ({"$or": [eq("kind", "b"), eq("kind", "c")]}, [1, 3]),
        ({"$not": eq("kind", "a")}, [1, 3, "seven"]),
        ({"$not": {"$or": [eq("kind", "a"), eq("kind", "b")]}}, [3, "seven"]),
        ({"$and": [{"$not": eq("kind", "c")}, {"$or": [eq("n", 1), eq("n", 2)]}]}, [0, 1]),
        ({"$or": [{"$and": [eq("kind", "a"), eq("n", 3)]}, {"$eq": eq("tags.0", "y")}]}, [1, 2]),
        (eq("", 7), ["seven"]),
    ],
)
def test_filter_grammar(filter_bus, predicate, expected):
    documents = [*FILTER_EVENTS, 7]
    want = [7 if index == "seven" else documents[index] for index in expected]
    assert matching(filter_bus, predicate) == want


@pytest.mark.parametrize("empty", [{"$and": []}, {"$or": []}])
def test_empty_and_or_match_nothing(filter_bus, empty):
    assert matching(filter_bus, empty) == []


def test_non_json_events_never_match(filter_bus):
    everything = matching(filter_bus, {"$not": eq("no.such.path", 0)})
    assert everything == [*FILTER_EVENTS, 7]
    assert matching(filter_bus, {"$not": {"$or": []}}) == [*FILTER_EVENTS, 7]


@pytest.mark.parametrize("limit", [1, 5, 1000])
@pytest.mark.parametrize("ordering", ["none", "insertion_ts"])
def test_filtered_paging_delivers_each_match_exactly_once(sharded_bus, limit, ordering):
    predicate = json.dumps({"$or": [eq("kind", "a"), eq("kind", "c")]})
    wanted = [p for p in PAYLOADS if json.loads(p)["kind"] in ("a", "c")]
    events, cursor = drain(sharded_bus, limit, filter=predicate, ordering=ordering)
    assert_exactly_once_in_shard_order(events, wanted, gapless=False)
    assert sharded_bus.poll(limit, cursor=cursor, filter=predicate).events == []


def test_a_filter_that_matches_nothing_still_pages_to_the_end(sharded_bus):
    events, cursor = drain(sharded_bus, 3, filter=json.dumps(eq("kind", "z")))
    assert events == []
    sharded_bus.ingest_raw(json.dumps({"kind": "z"}))
    events, _ = drain(sharded_bus, 3, cursor, filter=json.dumps(eq("kind", "z")))
    assert raws(events) == [json.dumps({"kind": "z"})]


@pytest.mark.parametrize(
    "text", ["", "{", "not json", '{"path": "a", "value": }', "[1,]", "{'a': 1}"]
)
def test_filter_that_is_not_json_is_a_value_error(filter_bus, text):
    with pytest.raises(ValueError):
        filter_bus.poll(10, filter=text)


@pytest.mark.parametrize(
    "predicate",
    [
        {},
        [],
        5,
        "kind",
        None,
        {"path": "kind"},
        {"value": "a"},
        {"path": 1, "value": "a"},
        {"$and": 5},
        {"$and": {"path": "a", "value": 1}},
        {"$and": [5]},
        {"$or": "x"},
        {"$not": 5},
        {"$not": {}},
        {"$eq": "x"},
        {"$eq": {"path": "a"}},
        {"$bogus": [eq("a", 1)]},
    ],
)
def test_filter_matching_no_form_is_rejected(filter_bus, predicate):
    with pytest.raises(ValueError) as info:
        filter_bus.poll(10, filter=json.dumps(predicate))
    assert info.value.args == (NO_FILTER_VARIANT,)


# --- corrupt and forged cursors ---------------------------------------------------------------


def is_valid_cursor_text(cursor: str) -> bool:
    """Whether `cursor` happens to be a well-formed cursor: base64 of a JSON object."""
    try:
        return isinstance(json.loads(base64.b64decode(cursor, validate=True)), dict)
    except ValueError:
        return False


def assert_invalid_cursor(bus, cursor: str) -> None:
    with pytest.raises(RuntimeError) as info:
        bus.poll(10, cursor=cursor)
    assert type(info.value) is RuntimeError
    assert str(info.value).startswith("invalid cursor: ")


@pytest.fixture(scope="module")
def cursor_bus():
    """Two shards holding exactly three events each (positions "0" to "2"); shared by
    the property tests below."""
    candidates = [str(i) for i in range(100)]
    payloads = [raw for raw in candidates if shard_for(raw, 2) == 0][:3]
    payloads += [raw for raw in candidates if shard_for(raw, 2) == 1][:3]
    with net.Net(num_shards=2, ring_buffer_capacity=SMALLEST_CAPACITY) as bus:
        assert bus.ingest_raw_batch(payloads) == 6
        yield bus


TEXT = st.text(st.characters(exclude_categories=("Cs",)))


@given(TEXT)
def test_random_text_cursor_is_rejected(cursor_bus, cursor):
    assume(not is_valid_cursor_text(cursor))
    assert_invalid_cursor(cursor_bus, cursor)


@given(st.binary())
def test_random_base64_cursor_is_rejected(cursor_bus, data):
    cursor = base64.b64encode(data).decode()
    assume(not is_valid_cursor_text(cursor))
    assert_invalid_cursor(cursor_bus, cursor)


@given(TEXT)
def test_base64_of_bad_json_is_rejected(cursor_bus, text):
    cursor = base64.b64encode(text.encode()).decode()
    assume(not is_valid_cursor_text(cursor))
    assert_invalid_cursor(cursor_bus, cursor)


SHARD_KEYS = st.sampled_from(["0", "1", "2", "01", "-1", "65536", ""]) | TEXT
POSITIONS = st.sampled_from(["0", "1", "2", "3", "00", "-1", ""]) | TEXT | st.none() | st.integers()


@given(st.dictionaries(SHARD_KEYS, POSITIONS, max_size=3))
def test_random_shard_maps_are_valid_cursors_or_rejected(cursor_bus, positions):
    """A map whose keys are shards and whose values are positions of stored events
    is a cursor; any other map is an invalid one, and neither crashes."""
    well_formed = all(
        key in ("0", "1") and value in ("0", "1", "2") for key, value in positions.items()
    )
    cursor = encode_cursor(positions)
    if well_formed:
        expected = 6 - sum(int(value) + 1 for value in positions.values())
        assert len(cursor_bus.poll(10, cursor=cursor)) == expected
    else:
        assert_invalid_cursor(cursor_bus, cursor)


@pytest.mark.parametrize(
    "positions",
    [
        {"0": "3"},
        {"1": "3"},
        {"0": "1000"},
        {"0": str(2**64 - 1)},
        {"0": str(2**64)},
        {"2": "0"},
        {"7": "0"},
        {"65535": "0"},
        {"65536": "0"},
        {"99999999999999999999": "0"},
        {"01": "0"},
        {"-1": "0"},
        {"+1": "0"},
        {" 1": "0"},
        {"": "0"},
        {"a": "0"},
        {"0": "01"},
        {"0": "-1"},
        {"0": ""},
        {"0": "x"},
        {"0": "1.5"},
        {"0": "0-1"},
        {"0": 1},
        {"0": None},
        {"0": ["1"]},
        {"0": {"1": "1"}},
    ],
)
def test_forged_cursor_is_rejected(cursor_bus, positions):
    assert_invalid_cursor(cursor_bus, encode_cursor(positions))


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "=",
        "====",
        "e30",
        "e30==",
        "e30=\n",
        " e30=",
        "e3 0=",
        "e30=e30=",
        "!!!!",
        encode_cursor([]),
        encode_cursor("0"),
        encode_cursor(None),
        encode_cursor(0),
        base64.b64encode(b'{"0":"0","0":"1"}').decode(),
        base64.b64encode(b'{"0":"0"} trailing').decode(),
        base64.b64encode(b'\xff\xfe{"0":"0"}').decode(),
        "A" * 100_000,
    ],
)
def test_corrupt_cursor_is_rejected(cursor_bus, cursor):
    assert_invalid_cursor(cursor_bus, cursor)


def test_the_last_position_of_a_shard_is_a_valid_cursor_but_one_past_is_not(bus):
    bus.ingest_raw_batch([str(i) for i in range(5)])
    cursor = encode_cursor({"0": "4"})
    page = bus.poll(10, cursor=cursor)
    assert (page.events, page.next_id, page.has_more) == ([], cursor, False)
    assert_invalid_cursor(bus, encode_cursor({"0": "5"}))


def test_a_cursor_from_a_bus_with_more_shards_is_rejected(make_bus):
    wide = make_bus(num_shards=8, ring_buffer_capacity=SMALLEST_CAPACITY)
    narrow = make_bus(num_shards=2, ring_buffer_capacity=SMALLEST_CAPACITY)
    wide.ingest_raw_batch(PAYLOADS)
    narrow.ingest_raw_batch(PAYLOADS)
    cursor = wide.poll(1000).next_id
    assert any(int(shard) >= 2 for shard in decode_cursor(cursor))
    assert_invalid_cursor(narrow, cursor)


def test_a_rejected_cursor_leaves_the_bus_usable(cursor_bus):
    assert_invalid_cursor(cursor_bus, "garbage")
    assert len(cursor_bus.poll(100)) == 6
