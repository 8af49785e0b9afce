#include "net/channel/membership.hpp"

#include <simdjson.h>

#include "net/identity/channel_name.hpp"

namespace net::channel {
namespace {

enum : std::uint8_t { kSubscribe = 0, kUnsubscribe = 1, kAck = 2 };

void put_name(Bytes& out, const std::string& text) {
  out.push_back(static_cast<std::uint8_t>(text.size()));
  out.insert(out.end(), text.begin(), text.end());
}

void put_header(Bytes& out, std::uint8_t type, std::uint64_t nonce) {
  out.push_back(type);
  out.resize(out.size() + 8);
  store_le(out.data() + 1, nonce);
}

// A cursor over the body that fails (returns nullopt) instead of reading past it.
class Reader {
 public:
  explicit Reader(ByteView body) : body_(body) {}
  bool at_end() const noexcept { return offset_ == body_.size(); }
  std::optional<ByteView> take(std::size_t n) {
    if (body_.size() - offset_ < n) return std::nullopt;
    const ByteView out = body_.subspan(offset_, n);
    offset_ += n;
    return out;
  }
  template <class T>
  std::optional<T> number() {
    const auto bytes = take(sizeof(T));
    if (!bytes) return std::nullopt;
    return load_le<T>(bytes->data());
  }
  // A u8-length-prefixed valid channel name.
  std::optional<std::string> channel() {
    const auto length = number<std::uint8_t>();
    if (!length || *length == 0) return std::nullopt;
    const auto bytes = take(*length);
    if (!bytes) return std::nullopt;
    std::string name(reinterpret_cast<const char*>(bytes->data()), bytes->size());
    if (identity::channel_name_error(name)) return std::nullopt;
    return name;
  }

 private:
  ByteView body_;
  std::size_t offset_ = 0;
};

std::optional<MembershipMessage> decode_subscribe(Reader& in, std::uint64_t nonce) {
  Subscribe message{nonce, {}, {}, {}};
  auto name = in.channel();
  if (!name) return std::nullopt;
  message.channel = std::move(*name);
  if (in.at_end()) return message;  // the original's decoders accept a body that ends here
  const auto token_length = in.number<std::uint16_t>();
  if (!token_length) return std::nullopt;
  const auto token = in.take(*token_length);
  if (!token) return std::nullopt;
  message.token.assign(token->begin(), token->end());
  if (in.at_end()) return message;
  const auto group_length = in.number<std::uint8_t>();
  if (!group_length) return std::nullopt;
  const auto group = in.take(*group_length);
  if (!group || !in.at_end()) return std::nullopt;
  message.queue_group.assign(reinterpret_cast<const char*>(group->data()), group->size());
  if (!simdjson::validate_utf8(message.queue_group.data(), message.queue_group.size())) return std::nullopt;
  return message;
}

}  // namespace

Bytes encode_membership(const MembershipMessage& message) {
  Bytes out;
  if (const auto* subscribe = std::get_if<Subscribe>(&message)) {
    put_header(out, kSubscribe, subscribe->nonce);
    put_name(out, subscribe->channel);
    const std::size_t at = out.size();
    out.resize(at + 2);
    store_le(out.data() + at, static_cast<std::uint16_t>(subscribe->token.size()));
    out.insert(out.end(), subscribe->token.begin(), subscribe->token.end());
    if (!subscribe->queue_group.empty()) put_name(out, subscribe->queue_group);
  } else if (const auto* unsubscribe = std::get_if<Unsubscribe>(&message)) {
    put_header(out, kUnsubscribe, unsubscribe->nonce);
    put_name(out, unsubscribe->channel);
  } else {
    const auto& ack = std::get<Ack>(message);
    put_header(out, kAck, ack.nonce);
    out.push_back(ack.accepted ? 1 : 0);
    out.push_back(static_cast<std::uint8_t>(ack.reason));
  }
  return out;
}

std::optional<MembershipMessage> decode_membership(ByteView body) {
  Reader in(body);
  const auto type = in.number<std::uint8_t>();
  const auto nonce = in.number<std::uint64_t>();
  if (!type || !nonce) return std::nullopt;
  switch (*type) {
    case kSubscribe: return decode_subscribe(in, *nonce);
    case kUnsubscribe: {
      auto name = in.channel();
      if (!name || !in.at_end()) return std::nullopt;
      return Unsubscribe{*nonce, std::move(*name)};
    }
    case kAck: {
      const auto accepted = in.number<std::uint8_t>();
      const auto reason = in.number<std::uint8_t>();
      if (!accepted || !reason || !in.at_end() || *accepted > 1 || *reason > 4) return std::nullopt;
      return Ack{*nonce, *accepted == 1, static_cast<AckReason>(*reason)};
    }
    default: return std::nullopt;
  }
}

}  // namespace net::channel
