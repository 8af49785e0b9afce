"""JSON in and out of the bus: `ingest(dict)` writes exactly the text `json.dumps`
would, and `StoredEvent.parse()` returns exactly what `json.loads(raw)` would."""

from __future__ import annotations

import collections
import datetime
import decimal
import enum
import gc
import json
import math

import net
import pytest
from conftest import SMALLEST_CAPACITY, Tail
from hypothesis import given, settings
from hypothesis import strategies as st

# --- strategies -----------------------------------------------------------------------

ANY_TEXT = st.text(st.characters() | st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF))
EDGE_INTS = st.sampled_from(
    [
        0,
        -1,
        2**31,
        2**53 + 1,
        2**63 - 1,
        2**63,
        2**64 - 1,
        2**64,
        -(2**63),
        -(2**63) - 1,
        10**40,
        -(10**40),
        2**1000,
    ]
)
INTS = st.integers() | st.integers(min_value=-(2**200), max_value=2**200) | EDGE_INTS
EDGE_FLOATS = st.sampled_from(
    [
        0.0,
        -0.0,
        1.0,
        0.1,
        1e16,
        1e-5,
        1e-4,
        1e15,
        1e22,
        1e21,
        5e-324,
        2.2250738585072014e-308,
        2.225073858507201e-308,
        1.7976931348623157e308,
        123456789012345680.0,
        -1.5,
        2.5e-7,
    ]
)
FLOATS = st.floats(allow_nan=False, allow_infinity=False) | EDGE_FLOATS
SCALARS = st.none() | st.booleans() | INTS | FLOATS | ANY_TEXT
DICT_KEYS = ANY_TEXT | INTS | FLOATS | st.booleans() | st.none()


def containers(children, keys):
    return (
        st.lists(children, max_size=5)
        | st.lists(children, max_size=5).map(tuple)
        | st.dictionaries(keys, children, max_size=5)
    )


# What ingest() accepts: any key json.dumps converts, tuples as well as lists.
EVENT_VALUES = st.recursive(SCALARS, lambda c: containers(c, DICT_KEYS), max_leaves=25)
EVENTS = st.dictionaries(DICT_KEYS, EVENT_VALUES, max_size=8)
# What JSON text can express: str keys, lists.
JSON_VALUES = st.recursive(
    SCALARS,
    lambda c: st.lists(c, max_size=5) | st.dictionaries(ANY_TEXT, c, max_size=5),
    max_leaves=25,
)


@st.composite
def json_texts(draw) -> str:
    """JSON documents as producers write them: any layout, ASCII-escaped or not."""
    value = draw(JSON_VALUES)
    indent = draw(st.sampled_from([None, 0, 2, "\t"]))
    separators = draw(st.sampled_from([None, (",", ":"), (" , ", " : ")]))
    text = json.dumps(value, ensure_ascii=draw(st.booleans()), indent=indent, separators=separators)
    if not is_utf8_encodable(text):  # lone surrogates can only travel escaped
        text = json.dumps(value, indent=indent, separators=separators)
    return text


def is_utf8_encodable(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def assert_identical(actual, expected) -> None:
    """Equal, of the same types, dict keys in the same order, floats bit-for-bit."""
    assert type(actual) is type(expected), (actual, expected)
    if isinstance(expected, float):
        assert repr(actual) == repr(expected) or (math.isnan(actual) and math.isnan(expected))
    elif isinstance(expected, dict):
        assert list(actual) == list(expected)
        for key in expected:
            assert_identical(actual[key], expected[key])
    elif isinstance(expected, list):
        assert len(actual) == len(expected)
        for a, e in zip(actual, expected):
            assert_identical(a, e)
    else:
        assert actual == expected


# --- fixtures -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tail():
    """A one-shard bus shared by the property tests, read back one event at a time."""
    with net.Net(num_shards=1, ring_buffer_capacity=SMALLEST_CAPACITY) as bus:
        yield Tail(bus)


def round_trip(tail: Tail, event: dict) -> str:
    assert isinstance(tail.bus.ingest(event), net.IngestResult)
    return tail.read_one().raw


def assert_nothing_stored(bus) -> None:
    assert bus.stats().events_ingested == 0
    assert bus.poll(10).events == []


def error_of(call, *args):
    """The exception `call(*args)` raises (json.dumps' error, to compare ours with)."""
    try:
        call(*args)
    except Exception as error:  # noqa: BLE001 - we want whatever it raises
        return error
    raise AssertionError(f"{call} did not raise")


def assert_raises_like_json_dumps(bus, event: dict) -> None:
    expected = error_of(json.dumps, event)
    with pytest.raises(type(expected)) as info:
        bus.ingest(event)
    assert type(info.value) is type(expected)
    assert str(info.value) == str(expected)
    assert_nothing_stored(bus)


# --- ingest(dict) ---------------------------------------------------------------------------


@given(EVENTS)
def test_ingest_writes_exactly_what_json_dumps_writes(tail, event):
    assert round_trip(tail, event) == json.dumps(event)


@pytest.mark.parametrize(
    "value",
    [
        -0.0,
        0.0,
        1e16,
        1e-5,
        1e-4,
        5e-324,
        1e308,
        1.7976931348623157e308,
        0.1 + 0.2,
        1 / 3,
        1e22,
        123456789.0,
        2.0**53,
        -2.5e-300,
    ],
    ids=repr,
)
def test_floats_are_written_like_float_repr(tail, value):
    assert round_trip(tail, {"f": value, repr(value): [value]}) == json.dumps(
        {"f": value, repr(value): [value]}
    )


# Short decimals m / 10^k (written by a fast path) and their neighbours one bit away, over every
# magnitude that path takes (1e-4 up to 1e15), with many 16-digit m: there doubles are sparser than
# the decimals, two decimals can read back as one double, and repr takes the nearer.
SHORT_DECIMALS = st.builds(
    lambda m, k, nudge: math.nextafter(m / 10**k, math.inf) if nudge else m / 10**k,
    st.integers(-(10**16), 10**16)
    | st.integers(10**15, 10**16)
    | st.integers(-(10**16), -(10**15)),
    st.integers(0, 8),
    st.booleans(),
)


@settings(max_examples=300)
@given(st.lists(SHORT_DECIMALS, min_size=1, max_size=50))
def test_short_decimal_floats_are_written_like_float_repr(tail, values):
    assert round_trip(tail, {"v": values}) == json.dumps({"v": values})


@pytest.mark.parametrize("value", [2**64, -(2**64) - 1, 2**1000, -(10**100), True, False, 0])
def test_big_ints_and_bools_are_written_like_json_dumps(tail, value):
    assert round_trip(tail, {"v": value}) == json.dumps({"v": value})


@pytest.mark.parametrize(
    "text",
    [
        "é",
        "🎉",
        "\x00\x1f\x7f\x80",
        '\n\r\t\b\f"\\/',
        "\u2028\u2029",
        "\ud800",
        chr(0xDFFF),
        "a\ud83d",
        "\ufeff",
        "\uffff",
        "\U0010ffff",
    ],
    ids=ascii,
)
def test_strings_are_escaped_like_json_dumps(tail, text):
    event = {text: text, "list": [text, {text: None}]}
    assert round_trip(tail, event) == json.dumps(event)


def test_non_str_keys_are_converted_like_json_dumps(tail):
    event = {
        3: "int",
        2.5: "float",
        True: "bool",
        None: "none",
        -0.0: "negative zero",
        1e16: "big float",
        2**70: "big int",
        -7: "negative",
    }
    raw = round_trip(tail, event)
    assert raw == json.dumps(event)
    assert raw.startswith('{"3": "int", "2.5": "float", "true": "bool", "null": "none", "-0.0"')


def test_subclasses_are_written_as_their_base_type(tail):
    class Colour(enum.IntEnum):
        RED = 1

    class Text(str):
        def __str__(self):
            return "not this"

    class Number(float):
        def __repr__(self):
            return "not this"

    class Items(list):
        pass

    Point = collections.namedtuple("Point", "x y")
    event = collections.OrderedDict(
        [
            ("colour", Colour.RED),
            ("text", Text("this")),
            ("number", Number(1.5)),
            ("point", Point(1, 2)),
            ("items", Items([1, Items()])),
            ("nested", collections.OrderedDict(a=1)),
            (Colour.RED, "an enum key"),
            (Number(2.5), "a float subclass key"),
        ]
    )
    assert round_trip(tail, event) == json.dumps(event)


def test_deep_but_reasonable_nesting_is_written(tail):
    event: dict = {}
    inner = event
    for _ in range(200):
        inner["x"] = [{}]
        inner = inner["x"][0]
    assert round_trip(tail, event) == json.dumps(event)


def test_empty_containers(tail):
    assert round_trip(tail, {}) == "{}"
    assert round_trip(tail, {"a": [], "b": {}, "c": ()}) == '{"a": [], "b": {}, "c": []}'


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf], ids=repr)
@pytest.mark.parametrize("where", ["value", "nested"])
def test_nan_and_infinities_are_value_errors(bus, value, where):
    event = {"v": value} if where == "value" else {"v": [1, {"w": (value,)}]}
    with pytest.raises(ValueError):
        bus.ingest(event)
    assert_nothing_stored(bus)


def test_a_dict_that_contains_itself_is_a_value_error(bus):
    event: dict = {"a": 1}
    event["self"] = event
    assert_raises_like_json_dumps(bus, event)


def test_a_list_that_contains_itself_is_a_value_error(bus):
    items: list = [1]
    items.append(items)
    assert_raises_like_json_dumps(bus, {"items": items})


def test_shared_but_acyclic_references_are_fine(tail):
    shared = {"k": [1, 2]}
    event = {"a": shared, "b": shared, "c": [shared, shared]}
    assert round_trip(tail, event) == json.dumps(event)


def test_pathologically_deep_nesting_is_a_recursion_error(bus):
    event: dict = {}
    inner = event
    for _ in range(100_000):
        inner["x"] = {}
        inner = inner["x"]
    with pytest.raises(RecursionError):
        bus.ingest(event)
    assert_nothing_stored(bus)


class Opaque:
    pass


@pytest.mark.parametrize(
    "value",
    [
        {1, 2},
        frozenset(),
        b"bytes",
        bytearray(b"x"),
        object(),
        Opaque(),
        1 + 2j,
        decimal.Decimal("1.5"),
        datetime.date(2024, 1, 1),
        range(3),
        len,
    ],
    ids=lambda v: type(v).__name__,
)
def test_unserializable_values_are_type_errors_like_json_dumps(bus, value):
    assert_raises_like_json_dumps(bus, {"ok": 1, "bad": [value]})


@pytest.mark.parametrize(
    "key", [(1, 2), (), frozenset(), b"k", Opaque()], ids=lambda k: type(k).__name__
)
def test_unsupported_keys_are_type_errors_like_json_dumps(bus, key):
    assert_raises_like_json_dumps(bus, {"ok": 1, key: "value"})


# --- StoredEvent.parse() -----------------------------------------------------------------


@given(json_texts())
def test_parse_returns_what_json_loads_returns(tail, text):
    tail.bus.ingest_raw(text)
    event = tail.read_one()
    assert event.raw == text
    assert_identical(event.parse(), json.loads(text))


@pytest.mark.parametrize(
    "text",
    [
        "0",
        "-0",
        "-0.0",
        "5",
        " 5 ",
        '"s"',
        "null",
        "true",
        "false",
        "[]",
        "{}",
        "9223372036854775807",
        "9223372036854775808",
        "18446744073709551615",
        "18446744073709551616",
        "-9223372036854775808",
        "-9223372036854775809",
        "123456789012345678901234567890",
        "[-340282366920938463463374607431768211457, 1]",
        '{"big": 100000000000000000000000}',
        "1E400",
        "-1e400",
        "1e-400",
        "1E5",
        "1.0",
        "0.5e1",
        "2.2250738585072011e-308",
        "1.7976931348623157e308",
        "4.9406564584124654e-324",
        "0.1",
        "1.00000000000000011102230246251565404236316680908203125",
        "NaN",
        "Infinity",
        "-Infinity",
        "[NaN, Infinity]",
        '"\\ud83d\\ude00"',
        '"\\ud800"',
        '"\\udc00\\ud800"',
        '"\\u0000"',
        '"\\/\\b\\f\\n\\r\\t"',
        '"é🎉"',
        '{"é": "🎉"}',
        '{"a": 1, "a": 2}',
        '{"b": 1, "a": 2, "c": {"z": 0, "y": 1}}',
        ' \t\n{"x" : [ ] }\r\n',
        "[[[[[[[[[[1]]]]]]]]]]",
    ],
)
def test_parse_edge_cases_like_json_loads(tail, text):
    tail.bus.ingest_raw(text)
    assert_identical(tail.read_one().parse(), json.loads(text))


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "not json",
        "{",
        "}",
        "[1,]",
        '{"a" 1}',
        "{'a': 1}",
        '"unterminated',
        "01",
        "1.",
        ".5",
        "+1",
        "-",
        "tru",
        "nan",
        "inf",
        '{"a": 1}}',
        "[1] [2]",
        '"\\x"',
        '"\\u12"',
        '"\x01"',
        '"tab\tinside"',
        "\ufeff{}",
        "{}\x00",
        "1 2",
        "[1, 2",
        '{"a": 1,}',
        "\u00a0 1",
    ],
    ids=ascii,
)
def test_parse_of_non_json_raises_json_decode_error_like_json_loads(tail, text):
    tail.bus.ingest_raw(text)
    event = tail.read_one()
    expected = error_of(json.loads, text)
    with pytest.raises(json.JSONDecodeError) as info:
        event.parse()
    assert str(info.value) == str(expected)
    assert (info.value.pos, info.value.doc) == (expected.pos, expected.doc)


def test_parse_returns_fresh_objects(tail):
    tail.bus.ingest_raw('{"a": [1]}')
    event = tail.read_one()
    first = event.parse()
    first["a"].append(2)
    assert event.parse() == {"a": [1]}


def test_a_parse_run_by_a_finalizer_inside_a_parse_leaves_both_whole(tail):
    # parse() reuses one parser per thread; building the objects can run a __del__ that parses
    # another event on the same thread while the outer document is still being read.
    outer_text = json.dumps([{"a": i, "s": f"str{i}"} for i in range(2000)])
    inner_text = json.dumps({"zz": ["other"] * 10})
    tail.bus.ingest_raw(outer_text)
    tail.bus.ingest_raw(inner_text)
    outer, inner = tail.read()
    nested = []
    parsing = [True]

    class ParsesWhenCollected:
        def __del__(self):
            nested.append(inner.parse())
            if parsing[0]:  # another for the next collection, while the outer parse runs
                make_cycle()

    def make_cycle():
        cycle = ParsesWhenCollected()
        cycle.self = cycle

    thresholds = gc.get_threshold()
    gc.collect()
    try:
        gc.set_threshold(1, 1, 1)
        make_cycle()
        parsed = outer.parse()
    finally:
        parsing[0] = False
        gc.set_threshold(*thresholds)
    gc.collect()
    assert nested and all(value == json.loads(inner_text) for value in nested)
    assert parsed == json.loads(outer_text)
