// core/: hashing and the JSON writer (byte-exact with CPython's json.dumps).
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <string>

#include "net/core/hash.hpp"
#include "net/core/json_writer.hpp"

namespace {

std::string latin1(std::string_view text) {
  std::string out;
  net::json::append_string(out, reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
  return out;
}

std::string ucs4(std::u32string_view text) {
  std::string out;
  net::json::append_string(out, reinterpret_cast<const std::uint32_t*>(text.data()), text.size());
  return out;
}

std::string dbl(double value) {
  std::string out;
  REQUIRE(net::json::append_double(out, value));
  return out;
}

}  // namespace

TEST_CASE("xxh3_64 matches the reference values", "[core][hash]") {
  CHECK(net::xxh3_64("", 0) == 0x2D06800538D394C2ull);
  CHECK(net::xxh3_64(std::string_view("a")) == 0xE6C632B61E964E1Full);
}

TEST_CASE("json strings escape like json.dumps with ensure_ascii", "[core][json]") {
  CHECK(latin1("plain") == "\"plain\"");
  CHECK(latin1("a\"b\\c") == "\"a\\\"b\\\\c\"");
  CHECK(latin1("\n\r\t\b\f") == "\"\\n\\r\\t\\b\\f\"");
  CHECK(latin1(std::string("\x00\x01\x1f", 3)) == "\"\\u0000\\u0001\\u001f\"");
  CHECK(latin1("\x7f") == "\"\\u007f\"");
  CHECK(latin1("\xe9") == "\"\\u00e9\"");  // Latin-1 code point U+00E9
  CHECK(ucs4(U"\u20ac") == "\"\\u20ac\"");
  CHECK(ucs4(U"\U0001F600") == "\"\\ud83d\\ude00\"");
  CHECK(latin1("") == "\"\"");
}

TEST_CASE("json doubles are CPython's float repr", "[core][json]") {
  CHECK(dbl(1.0) == "1.0");
  CHECK(dbl(-0.0) == "-0.0");
  CHECK(dbl(0.0) == "0.0");
  CHECK(dbl(0.1) == "0.1");
  CHECK(dbl(1e16) == "1e+16");
  CHECK(dbl(1e15) == "1000000000000000.0");
  CHECK(dbl(1e-5) == "1e-05");
  CHECK(dbl(0.0001) == "0.0001");
  CHECK(dbl(123456789012345678.0) == "1.2345678901234568e+17");
  CHECK(dbl(5e-324) == "5e-324");
  CHECK(dbl(1.7976931348623157e308) == "1.7976931348623157e+308");
  CHECK(dbl(-1.5) == "-1.5");
  CHECK(dbl(123.456) == "123.456");
  CHECK(dbl(1.5e-7) == "1.5e-07");
  std::string out;
  CHECK_FALSE(net::json::append_double(out, std::nan("")));
  CHECK_FALSE(net::json::append_double(out, std::numeric_limits<double>::infinity()));
  CHECK_FALSE(net::json::append_double(out, -std::numeric_limits<double>::infinity()));
  CHECK(out.empty());
}

TEST_CASE("json integers", "[core][json]") {
  std::string out;
  net::json::append_int(out, std::numeric_limits<std::int64_t>::min());
  CHECK(out == "-9223372036854775808");
}
