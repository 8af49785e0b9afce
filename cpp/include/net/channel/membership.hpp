// The channel membership subprotocol 0x0A00 (REFERENCE §4.4): Subscribe,
// Unsubscribe and Ack bodies, one per framed event, little-endian. Decoding
// is as strict as the original's: anything it would drop decodes to nullopt.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "net/core/bytes.hpp"

namespace net::channel {

inline constexpr std::uint16_t kMembershipSubprotocol = 0x0A00;

enum class AckReason : std::uint8_t {
  None = 0,
  Unauthorized = 1,
  UnknownChannel = 2,
  RateLimited = 3,
  TooManyChannels = 4
};

struct Subscribe {
  std::uint64_t nonce = 0;
  std::string channel;
  Bytes token;              ///< empty: none (a 159-byte PermissionToken when present)
  std::string queue_group;  ///< empty: broadcast
};

struct Unsubscribe {
  std::uint64_t nonce = 0;
  std::string channel;
};

struct Ack {
  std::uint64_t nonce = 0;
  bool accepted = false;
  AckReason reason = AckReason::None;
};

using MembershipMessage = std::variant<Subscribe, Unsubscribe, Ack>;

// Subscribe always carries token_len (0 without a token) and the queue group
// only when there is one, as the original writes it.
Bytes encode_membership(const MembershipMessage& message);
std::optional<MembershipMessage> decode_membership(ByteView body);

}  // namespace net::channel
