// wire/ codecs and packet sealing, byte for byte against vectors checked with
// the original's nodes; malformed input is refused, never misread.
#include <catch2/catch.hpp>

#include "net/crypto/session_keys.hpp"
#include "net/transport/packet_cipher.hpp"
#include "net/wire/event_frames.hpp"
#include "net/wire/packet_header.hpp"
#include "net/wire/pingwave.hpp"
#include "net/wire/routing_header.hpp"
#include "net/wire/stream_window.hpp"
#include "vectors.hpp"

using namespace net;
using namespace net::wire;
using test_vectors::hex;
using test_vectors::key;
using test_vectors::u64;

namespace {

PacketHeader header_from(simdjson::dom::element f) {
  PacketHeader h;
  h.flags = static_cast<std::uint8_t>(u64(f["flags"]));
  h.priority = static_cast<std::uint8_t>(u64(f["priority"]));
  h.hop_ttl = static_cast<std::uint8_t>(u64(f["hop_ttl"]));
  h.hop_count = static_cast<std::uint8_t>(u64(f["hop_count"]));
  h.frag_flags = static_cast<std::uint8_t>(u64(f["frag_flags"]));
  h.subprotocol_id = static_cast<std::uint16_t>(u64(f["subprotocol_id"]));
  h.channel_hash = static_cast<std::uint16_t>(u64(f["channel_hash"]));
  const Bytes nonce = hex(f["nonce"]);
  std::copy(nonce.begin(), nonce.end(), h.nonce.begin());
  h.session_id = u64(f["session_id"]);
  h.stream_id = u64(f["stream_id"]);
  h.sequence = u64(f["sequence"]);
  h.subnet_id = static_cast<std::uint32_t>(u64(f["subnet_id"]));
  h.origin_hash = static_cast<std::uint32_t>(u64(f["origin_hash"]));
  h.fragment_id = static_cast<std::uint16_t>(u64(f["fragment_id"]));
  h.fragment_offset = static_cast<std::uint16_t>(u64(f["fragment_offset"]));
  h.payload_len = static_cast<std::uint16_t>(u64(f["payload_len"]));
  h.event_count = static_cast<std::uint16_t>(u64(f["event_count"]));
  return h;
}

// Session keys whose TX key is `tx` (the vectors give each sender's key).
crypto::SessionKeys sender_keys(simdjson::dom::element tx, std::uint64_t session_id) {
  crypto::SessionKeys keys{};
  keys.session_id = session_id;
  keys.nonce_prefix = static_cast<std::uint32_t>(session_id) ^ static_cast<std::uint32_t>(session_id >> 32);
  keys.tx_key = key(tx);
  keys.rx_key = keys.tx_key;  // the receiver's RX key is the sender's TX key
  return keys;
}

// Seals the vector packet from its fields and opens the expected datagram.
void check_packet_vector(simdjson::dom::element v, simdjson::dom::element key_hex, std::uint64_t counter) {
  const PacketHeader fields = header_from(v["header_fields"]);
  const Bytes datagram = hex(v["datagram"]);
  const auto keys = sender_keys(key_hex, fields.session_id);
  Bytes plaintext;
  if (v["plaintext_frames"].error() == simdjson::SUCCESS) plaintext = hex(v["plaintext_frames"]);

  std::array<std::uint8_t, kHeaderSize> header{};
  fields.encode(header.data());
  CHECK(Bytes(header.begin(), header.end()) == Bytes(datagram.begin(), datagram.begin() + kHeaderSize));
  const auto aad = fields.aad();
  CHECK(Bytes(aad.begin(), aad.end()) == hex(v["aad"]));
  const auto nonce = keys.nonce(counter);
  CHECK(Bytes(nonce.begin(), nonce.end()) == hex(v["nonce"]));

  CHECK(transport::seal_packet(fields, keys, counter, plaintext) == datagram);
  const auto decoded = PacketHeader::decode(datagram);
  REQUIRE(decoded);
  CHECK(decoded->counter() == counter);
  CHECK(decoded->stream_id == fields.stream_id);
  CHECK(decoded->payload_len == plaintext.size());
  const auto opened = transport::open_packet(datagram, *decoded, keys);
  REQUIRE(opened);
  CHECK(*opened == plaintext);
}

}  // namespace

TEST_CASE("data packet: header, AAD, nonce, ciphertext and frames", "[wire][packet]") {
  const simdjson::dom::element v = test_vectors::root()["data_packet"];
  check_packet_vector(v, v["key"], u64(v["counter"]));
  const Bytes datagram = hex(v["datagram"]);
  const auto header = PacketHeader::decode(datagram);
  REQUIRE(header);
  CHECK(header->event_count == 3);
  const auto keys = sender_keys(v["key"], header->session_id);
  const Bytes plaintext = *transport::open_packet(datagram, *header, keys);
  const auto events = read_frames(plaintext, header->event_count);
  const auto expected = v["events_hex"].get_array();
  REQUIRE(events.size() == expected.size());
  for (std::size_t i = 0; i < events.size(); ++i)
    CHECK(Bytes(events[i].begin(), events[i].end()) == hex(expected.at(i)));
  Bytes framed;
  for (std::size_t i = 0; i < events.size(); ++i) append_frame(framed, hex(expected.at(i)));
  CHECK(framed == plaintext);
}

TEST_CASE("relays may rewrite hop_count, any other byte breaks the packet", "[wire][packet]") {
  const simdjson::dom::element v = test_vectors::root()["data_packet"];
  const Bytes rewritten = hex(v["datagram_with_hop_count_3_still_valid"]);
  const auto header = PacketHeader::decode(rewritten);
  REQUIRE(header);
  CHECK(header->hop_count == 3);
  const auto keys = sender_keys(v["key"], header->session_id);
  CHECK(transport::open_packet(rewritten, *header, keys));

  const Bytes datagram = hex(v["datagram"]);
  for (std::size_t at = 0; at < datagram.size(); ++at) {
    if (at == 6) continue;  // hop_count
    Bytes tampered = datagram;
    tampered[at] ^= 0x01;
    const auto h = PacketHeader::decode(tampered);
    if (!h) continue;  // refused by the header checks already
    INFO("byte " << at);
    CHECK_FALSE(transport::open_packet(tampered, *h, keys));
  }
}

TEST_CASE("heartbeat, grant, membership and channel publish datagrams", "[wire][packet]") {
  const simdjson::dom::element root = test_vectors::root();
  const simdjson::dom::element heartbeat = root["heartbeat"];
  check_packet_vector(heartbeat, heartbeat["key"], u64(heartbeat["counter"]));
  CHECK(hex(heartbeat["datagram"]).size() == 80);

  const simdjson::dom::element grant = root["stream_window_grant"];
  const simdjson::dom::element mesh = root["mesh_handshake"];
  check_packet_vector(grant, mesh["responder_tx_key"], 0);
  const auto body = StreamWindowGrant::decode(hex(grant["grant_body"]));
  REQUIRE(body);
  CHECK(body->stream_id == u64(grant["grant_stream_id"]));
  CHECK(body->total_consumed == u64(grant["total_consumed"]));
  const auto encoded = body->encode();
  CHECK(Bytes(encoded.begin(), encoded.end()) == hex(grant["grant_body"]));
  Bytes short_body = hex(grant["grant_body"]);
  short_body.pop_back();
  CHECK_FALSE(StreamWindowGrant::decode(short_body));

  for (const char* name : {"subscribe_datagram", "ack_datagram"}) {
    const simdjson::dom::element m = root["membership"][name];
    check_packet_vector(m, m["key"], u64(m["counter"]));
  }
  for (const char* mode : {"fire_and_forget", "reliable"}) {
    const simdjson::dom::element p = root["channel_publish"][mode];
    check_packet_vector(p, root["channel_publish"]["key"], u64(p["counter"]));
  }
  const simdjson::dom::element caps = root["capability_announcement"]["datagram"];
  check_packet_vector(caps, root["capability_announcement"]["key"], u64(caps["counter"]));
}

TEST_CASE("handshake datagrams: a bare header with the HANDSHAKE flag, then the Noise message", "[wire][packet]") {
  const simdjson::dom::element root = test_vectors::root();
  for (const char* name : {"mesh_handshake", "two_node_handshake"}) {
    for (const char* msg : {"msg1", "msg2"}) {
      const simdjson::dom::element v = root[name];
      const Bytes noise = hex(v[(std::string(msg) + "_noise").c_str()]);
      PacketHeader h;
      h.flags = flags::kHandshake;
      h.payload_len = static_cast<std::uint16_t>(noise.size());
      Bytes datagram(kHeaderSize);
      h.encode(datagram.data());
      datagram.insert(datagram.end(), noise.begin(), noise.end());
      CHECK(datagram == hex(v[(std::string(msg) + "_datagram").c_str()]));
      CHECK(datagram.size() == 112);
      const auto decoded = PacketHeader::decode(datagram);
      REQUIRE(decoded);
      CHECK(decoded->has(flags::kHandshake));
    }
  }
}

TEST_CASE("routing headers: layout, one forward, and the routed handshake datagram", "[wire][routing]") {
  const simdjson::dom::element v = test_vectors::root()["routing_header"];
  RoutingHeader h;
  h.src_id = static_cast<std::uint32_t>(u64(v["fields"]["src_id"]));
  h.dest_id = u64(v["fields"]["dest_id"]);
  Bytes bytes(kRoutingHeaderSize);
  h.encode(bytes.data());
  CHECK(bytes == hex(v["bytes"]));
  const auto decoded = RoutingHeader::decode(bytes);
  REQUIRE(decoded);
  CHECK(decoded->ttl == 16);
  CHECK(decoded->src_id == h.src_id);
  CHECK(decoded->dest_id == h.dest_id);
  RoutingHeader hop = *decoded;
  REQUIRE(hop.forward());
  hop.encode(bytes.data());
  CHECK(bytes == hex(v["after_one_forward_bytes"]));

  const simdjson::dom::element routed = test_vectors::root()["routed_handshake"];
  const Bytes msg1 = hex(routed["msg1_datagram"]);
  CHECK(Bytes(msg1.begin(), msg1.begin() + kRoutingHeaderSize) == hex(routed["msg1_routing_header"]));
  CHECK(msg1.size() == 138);
  const auto inner = PacketHeader::decode(ByteView(msg1).subspan(kRoutingHeaderSize));
  REQUIRE(inner);
  CHECK(inner->payload_len == 56);

  RoutingHeader spent;
  spent.ttl = 0;
  CHECK_FALSE(spent.forward());
  CHECK(spent.hop_count == 0);
  CHECK_FALSE(RoutingHeader::decode(Bytes(17, 0x52)));
  Bytes wrong_magic = hex(v["bytes"]);
  wrong_magic[0] = 0x45;
  CHECK_FALSE(RoutingHeader::decode(wrong_magic));
}

TEST_CASE("pingwaves: the original's 72 bytes, and bad health refused", "[wire][pingwave]") {
  const simdjson::dom::element v = test_vectors::root()["pingwave"];
  Pingwave w;
  w.origin_node_id = 0xbd826a5d0a6394f5ull;
  w.seq = u64(v["fields"]["seq"]);
  w.origin_timestamp_us = u64(v["fields"]["origin_timestamp_us"]);
  const auto bytes = w.encode();
  CHECK(Bytes(bytes.begin(), bytes.end()) == hex(v["datagram"]));
  const auto decoded = Pingwave::decode(bytes);
  REQUIRE(decoded);
  CHECK(decoded->origin_node_id == w.origin_node_id);
  CHECK(decoded->ttl == 3);
  CHECK(decoded->origin_timestamp_us == w.origin_timestamp_us);
  Bytes bad(bytes.begin(), bytes.end());
  bad[63] = 7;
  CHECK_FALSE(Pingwave::decode(bad));
  bad[63] = 3;
  CHECK(Pingwave::decode(bad));
  bad.push_back(0);
  CHECK_FALSE(Pingwave::decode(bad));
}

TEST_CASE("packet headers refuse what the original refuses", "[wire][packet]") {
  const Bytes good = hex(test_vectors::root()["data_packet"]["datagram"]);
  REQUIRE(PacketHeader::decode(good));
  auto with = [&](std::size_t at, std::uint8_t value) {
    Bytes b = good;
    b[at] = value;
    return b;
  };
  CHECK_FALSE(PacketHeader::decode(ByteView(good).first(63)));
  CHECK_FALSE(PacketHeader::decode(with(0, 0x46)));  // magic
  CHECK_FALSE(PacketHeader::decode(with(2, 2)));     // version
  Bytes longer = good;
  longer.push_back(0);
  CHECK_FALSE(PacketHeader::decode(longer));          // payload_len + 16 != body
  CHECK_FALSE(PacketHeader::decode(with(61, 0x20)));  // payload_len 8237 > 8112
  CHECK_FALSE(PacketHeader::decode(with(63, 0x08)));  // event_count 2051 > 2028
}

TEST_CASE("event frames stop at event_count and at a truncated frame", "[wire][frames]") {
  Bytes payload;
  append_frame(payload, as_bytes("one"));
  append_frame(payload, as_bytes(""));
  append_frame(payload, as_bytes("three"));
  CHECK(read_frames(payload, 3).size() == 3);
  CHECK(read_frames(payload, 1).size() == 1);
  CHECK(read_frames(payload, 10).size() == 3);
  Bytes truncated(payload.begin(), payload.end() - 1);
  const auto events = read_frames(truncated, 3);
  REQUIRE(events.size() == 2);
  CHECK(events[1].empty());
  Bytes huge_length = {0xff, 0xff, 0xff, 0xff, 'x'};
  CHECK(read_frames(huge_length, 1).empty());
}
