"""net: a schema-agnostic event bus and encrypted mesh with a C++20 engine.

The native module ``net._net`` holds every class; this package re-exports them
in the original's feature groups, so ``from net import Net`` works as it does
with ``ai2070-net``.
"""

from ._net import (
    BackpressureError,
    ChannelAuthError,
    ChannelError,
    ChannelMessage,
    ChannelReceiver,
    Identity,
    IdentityError,
    IngestResult,
    Net,
    NetKeypair,
    NetMesh,
    NetStream,
    NetStreamStats,
    NotConnectedError,
    PollResponse,
    Redex,
    RedexError,
    RedexEvent,
    RedexFile,
    RedexTailIter,
    RedisStreamDedup,
    Stats,
    StoredEvent,
    TokenError,
    channel_hash,
    delegate_token,
    generate_net_keypair,
    normalize_gpu_vendor,
    parse_token,
    token_is_expired,
    verify_token,
)

__version__ = "0.12.0"

# In the original's feature groups (bus, redis, transport keys, mesh, identity), not alphabetically.
__all__ = [  # noqa: RUF022
    "Net",
    "IngestResult",
    "StoredEvent",
    "PollResponse",
    "Stats",
    "BackpressureError",
    "RedisStreamDedup",
    "NetKeypair",
    "generate_net_keypair",
    "NetMesh",
    "NetStream",
    "NetStreamStats",
    "NotConnectedError",
    "ChannelError",
    "ChannelAuthError",
    "ChannelMessage",
    "ChannelReceiver",
    "IdentityError",
    "Identity",
    "TokenError",
    "parse_token",
    "verify_token",
    "token_is_expired",
    "delegate_token",
    "channel_hash",
    "normalize_gpu_vendor",
    "Redex",
    "RedexFile",
    "RedexEvent",
    "RedexTailIter",
    "RedexError",
]
