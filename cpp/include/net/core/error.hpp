// The one error type of libnet: a stable kind plus a human-readable message.
// The Python bindings map each kind to an exception class (DESIGN.md §4); C++
// embedders catch net::Error and switch on kind().
#pragma once

#include <stdexcept>
#include <string>

namespace net {

enum class ErrorKind {
  InvalidArgument,  ///< bad value supplied by the caller (Python ValueError)
  InvalidConfig,    ///< configuration rejected ("invalid configuration: ...")
  InvalidCursor,    ///< undecodable or forged poll cursor
  InvalidFilter,    ///< poll filter JSON that is not a filter
  Backpressure,     ///< a bounded buffer is full and the mode says fail
  NotConnected,     ///< no session or stream for the request (Python NotConnectedError)
  Connection,       ///< handshake or peer failure ("connection error: ...")
  Transport,        ///< the socket refused a datagram
  Identity,         ///< identities, subnets ("identity: ..."; Python IdentityError)
  Token,            ///< permission tokens ("token: <kind>"; Python TokenError)
  Channel,          ///< channel requests refused or failed ("channel: ..."; Python ChannelError)
  ChannelAuth,      ///< a publisher refused a subscriber ("channel: unauthorized"; Python ChannelAuthError)
  Redex,            ///< RedEX logs (Python RedexError)
  Cortex,           ///< CortEX adapters ("<op> failed: <detail>"; Python CortexError)
  NetDb,            ///< NetDb bundles ("decode bundle: ..."; Python NetDbError)
  ShutDown,         ///< the object was shut down
  Internal,         ///< a broken invariant; never expected
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const noexcept { return kind_; }

 private:
  ErrorKind kind_;
};

}  // namespace net
