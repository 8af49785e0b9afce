// crypto/: the Noise NKpsk0 handshake, session keys and the replay window,
// byte for byte against vectors checked with the original's nodes.
#include <sodium.h>
#include <catch2/catch.hpp>

#include "net/core/blake2s.hpp"
#include "net/crypto/aead.hpp"
#include "net/crypto/ed25519.hpp"
#include "net/crypto/noise.hpp"
#include "net/crypto/replay_window.hpp"
#include "net/crypto/session_keys.hpp"
#include "net/identity/node_ids.hpp"
#include "vectors.hpp"

using namespace net;
using namespace net::crypto;
using test_vectors::bytes_of;
using test_vectors::hex;
using test_vectors::key;

namespace {

struct Handshake {
  Bytes msg1, msg2, payload1, payload2;
  Key32 initiator_hash, responder_hash;
};

// Runs both sides of the vector `name` with its fixed keys and checks every
// intermediate value of its trace.
Handshake run_vector_handshake(const char* name) {
  const simdjson::dom::element v = test_vectors::root()[name];
  const simdjson::dom::element in =
      v["inputs"].error() == simdjson::SUCCESS ? v["inputs"] : test_vectors::root()["mesh_handshake"]["inputs"];
  const Key32 psk = key(in["psk"]);
  const Bytes prologue = hex(v["prologue"]);
  const auto responder_static = X25519Keypair::from_secret(key(in["responder_static_private"]));
  REQUIRE(bytes_of(responder_static.public_key) == hex(in["responder_static_public"]));
  Bytes payload1;
  if (v["msg1_payload"].error() == simdjson::SUCCESS) payload1 = hex(v["msg1_payload"]);

  NoiseInitiator initiator(psk, responder_static.public_key, prologue, key(in["initiator_ephemeral_private"]));
  NoiseResponder responder(psk, responder_static, prologue, key(in["responder_ephemeral_private"]));
  const simdjson::dom::element trace = v["trace"];
  CHECK(bytes_of(blake2s(as_bytes(kNoiseProtocolName))) == hex(trace["h_initial_blake2s_of_protocol_name"]));
  CHECK(bytes_of(Blake2s().update(hex(trace["h_initial_blake2s_of_protocol_name"])).update(prologue).finish()) ==
        hex(trace["h_after_mixhash_prologue"]));
  CHECK(bytes_of(initiator.handshake_hash()) == hex(trace["h_after_mixhash_responder_static"]));

  Handshake out;
  out.msg1 = initiator.write_message1(payload1);
  CHECK(bytes_of(initiator.state().chaining_key()) == hex(trace["ck_after_msg1"]));
  CHECK(bytes_of(initiator.handshake_hash()) == hex(trace["h_after_msg1"]));
  CHECK(out.msg1 == hex(v["msg1_noise"]));
  const auto received1 = responder.read_message1(out.msg1);
  REQUIRE(received1);
  out.payload1 = *received1;
  out.msg2 = responder.write_message2({});
  CHECK(out.msg2 == hex(v["msg2_noise"]));
  const auto received2 = initiator.read_message2(out.msg2);
  REQUIRE(received2);
  out.payload2 = *received2;
  CHECK(bytes_of(initiator.state().chaining_key()) == hex(trace["ck_final"]));
  out.initiator_hash = initiator.handshake_hash();
  out.responder_hash = responder.handshake_hash();
  return out;
}

void check_session_keys(const char* name, const Key32& handshake_hash) {
  const simdjson::dom::element v = test_vectors::root()[name];
  CHECK(bytes_of(handshake_hash) == hex(v["handshake_hash"]));
  const SessionKeys initiator = SessionKeys::derive(handshake_hash, HandshakeRole::Initiator);
  const SessionKeys responder = SessionKeys::derive(handshake_hash, HandshakeRole::Responder);
  CHECK(initiator.session_id == test_vectors::u64(v["session_id_u64"]));
  CHECK(responder.session_id == initiator.session_id);
  Bytes prefix(4);
  store_le(prefix.data(), initiator.nonce_prefix);
  CHECK(prefix == hex(v["nonce_prefix"]));
  CHECK(bytes_of(blake2s_mac(handshake_hash, as_bytes("net-kdf-v1"))) == hex(v["kdf_prk"]));
  CHECK(bytes_of(initiator.tx_key) == hex(v["initiator_tx_key"]));
  CHECK(bytes_of(initiator.rx_key) == hex(v["initiator_rx_key"]));
  CHECK(bytes_of(responder.tx_key) == hex(v["responder_tx_key"]));
  CHECK(bytes_of(responder.rx_key) == hex(v["responder_rx_key"]));
}

}  // namespace

TEST_CASE("the mesh handshake reproduces the original's bytes and keys", "[crypto][noise]") {
  const Handshake h = run_vector_handshake("mesh_handshake");
  CHECK(h.payload1.empty());
  CHECK(h.payload2.empty());
  CHECK(h.initiator_hash == h.responder_hash);
  check_session_keys("mesh_handshake", h.initiator_hash);
}

TEST_CASE("the two-node handshake (empty prologue) reproduces the original's bytes", "[crypto][noise]") {
  const Handshake h = run_vector_handshake("two_node_handshake");
  CHECK(h.initiator_hash == h.responder_hash);
  check_session_keys("two_node_handshake", h.initiator_hash);
}

TEST_CASE("the routed handshake carries the initiator's node id in msg1", "[crypto][noise]") {
  const Handshake h = run_vector_handshake("routed_handshake");
  CHECK(h.payload1 == hex(test_vectors::root()["routed_handshake"]["msg1_payload"]));
  CHECK(h.initiator_hash == h.responder_hash);
  check_session_keys("routed_handshake", h.initiator_hash);
}

TEST_CASE("fresh keys: both sides agree, and any mismatch fails authentication", "[crypto][noise]") {
  const auto responder_static = X25519Keypair::generate();
  Key32 psk;
  psk.fill(0x42);
  const Bytes prologue = {1, 2, 3};

  SECTION("matching inputs derive mirrored keys") {
    NoiseInitiator initiator(psk, responder_static.public_key, prologue);
    NoiseResponder responder(psk, responder_static, prologue);
    const Bytes payload = {9, 8, 7};
    const auto got = responder.read_message1(initiator.write_message1(payload));
    REQUIRE(got);
    CHECK(*got == payload);
    REQUIRE(initiator.read_message2(responder.write_message2({})));
    const auto a = SessionKeys::derive(initiator.handshake_hash(), HandshakeRole::Initiator);
    const auto b = SessionKeys::derive(responder.handshake_hash(), HandshakeRole::Responder);
    CHECK(a.session_id == b.session_id);
    CHECK(a.tx_key == b.rx_key);
    CHECK(a.rx_key == b.tx_key);
    CHECK(a.tx_key != a.rx_key);
  }
  SECTION("a wrong PSK") {
    Key32 other_psk = psk;
    other_psk[31] ^= 1;
    NoiseInitiator initiator(other_psk, responder_static.public_key, prologue);
    NoiseResponder responder(psk, responder_static, prologue);
    CHECK_FALSE(responder.read_message1(initiator.write_message1({})));
  }
  SECTION("a wrong responder static key") {
    NoiseInitiator initiator(psk, X25519Keypair::generate().public_key, prologue);
    NoiseResponder responder(psk, responder_static, prologue);
    CHECK_FALSE(responder.read_message1(initiator.write_message1({})));
  }
  SECTION("a wrong prologue") {
    NoiseInitiator initiator(psk, responder_static.public_key, Bytes{1, 2, 4});
    NoiseResponder responder(psk, responder_static, prologue);
    CHECK_FALSE(responder.read_message1(initiator.write_message1({})));
  }
  SECTION("a tampered msg2") {
    NoiseInitiator initiator(psk, responder_static.public_key, prologue);
    NoiseResponder responder(psk, responder_static, prologue);
    REQUIRE(responder.read_message1(initiator.write_message1({})));
    Bytes msg2 = responder.write_message2({});
    msg2[40] ^= 0x80;
    CHECK_FALSE(initiator.read_message2(msg2));
  }
  SECTION("truncated messages") {
    NoiseInitiator initiator(psk, responder_static.public_key, prologue);
    NoiseResponder responder(psk, responder_static, prologue);
    Bytes msg1 = initiator.write_message1({});
    msg1.resize(47);
    CHECK_FALSE(responder.read_message1(msg1));
  }
}

TEST_CASE("libsodium is initialized before the first seal: it seals with its fast code", "[crypto]") {
  // ctest runs each case in a process of its own: nothing here generated a
  // key, which also initializes libsodium, before this seal.
  const Key32 key{};
  const Nonce nonce{};
  const std::uint8_t plaintext[16]{};
  std::uint8_t ciphertext[16];
  std::uint8_t tag[16];
  seal(key, nonce, {}, plaintext, ciphertext, tag);
  CHECK(sodium_init() == 1);  // 1: it already was
}

TEST_CASE("the replay window matches the original's boundaries", "[crypto][replay]") {
  for (const auto c : test_vectors::root()["replay_window"]["cases"].get_array()) {
    ReplayWindow window;
    const auto sequence = c["sequence"].get_array();
    const auto accepted = c["accepted"].get_array();
    for (std::size_t i = 0; i < sequence.size(); ++i) {
      const std::uint64_t counter = sequence.at(i).get_uint64();
      const bool expected = accepted.at(i).get_bool();
      INFO("counter " << counter << " at step " << i);
      CHECK(window.check(counter) == expected);
      CHECK(window.commit(counter) == expected);
    }
  }
}

TEST_CASE("the replay window slides and forgets what falls out of it", "[crypto][replay]") {
  ReplayWindow window;
  for (std::uint64_t c = 0; c < 5000; c += 2) REQUIRE(window.commit(c));
  CHECK_FALSE(window.check(4998));         // seen
  CHECK(window.commit(4997));              // unseen, inside the window
  CHECK_FALSE(window.check(4998 - 1024));  // too old
  CHECK_FALSE(window.check(4998 - 1022));  // even: seen
  CHECK(window.check(4998 - 1023));        // odd: unseen, the oldest slot of the window
  CHECK(window.commit(4999 - 1024 + 2));   // odd, unseen, inside
  CHECK(window.commit(4998 + 1025));       // next + 1024
  CHECK_FALSE(window.check(4998 + 1025 + 1026));
  CHECK_FALSE(window.check(4998 + 1025 - 1024));  // fell out with the jump
  CHECK(window.commit(4998 + 1025 - 1023));
}

TEST_CASE("identities: entity id, node id, origin hash and routing id of the vector seeds", "[crypto][identity]") {
  const simdjson::dom::array vectors = test_vectors::root()["identity"]["vectors"].get_array();
  REQUIRE(vectors.size() == 4);
  for (const simdjson::dom::element v : vectors) {
    const auto keypair = Ed25519Keypair::from_seed(key(v["ed25519_seed"]));
    CHECK(bytes_of(keypair.public_key()) == hex(v["entity_id"]));
    const std::uint64_t node_id = identity::node_id_of(keypair.public_key());
    CHECK(node_id == test_vectors::u64(v["node_id_u64"]));
    CHECK(identity::origin_hash_of(keypair.public_key()) == test_vectors::u64(v["origin_hash_u64"]));
    CHECK(identity::routing_id(node_id) == test_vectors::u64(v["routing_id_u32"]));
  }
}

TEST_CASE("the mesh prologue is built from the two routing ids", "[crypto][identity]") {
  const simdjson::dom::element in = test_vectors::root()["mesh_handshake"]["inputs"];
  const auto prologue = identity::mesh_prologue(test_vectors::u64(in["initiator_node_id_u64"]),
                                                test_vectors::u64(in["responder_node_id_u64"]));
  CHECK(Bytes(prologue.begin(), prologue.end()) == hex(test_vectors::root()["mesh_handshake"]["prologue"]));
}

TEST_CASE("ed25519 signatures verify, and fail for another message or key", "[crypto][identity]") {
  const auto signer = Ed25519Keypair::generate();
  const Bytes message = {1, 2, 3};
  const Signature signature = signer.sign(message);
  CHECK(ed25519_verify(signer.public_key(), message, signature));
  CHECK_FALSE(ed25519_verify(signer.public_key(), Bytes{1, 2, 4}, signature));
  CHECK_FALSE(ed25519_verify(Ed25519Keypair::generate().public_key(), message, signature));
  CHECK(Ed25519Keypair::from_seed(signer.seed()).public_key() == signer.public_key());
}
