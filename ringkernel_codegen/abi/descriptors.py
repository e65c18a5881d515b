"""The CUDA resident actor's descriptors: where one block finds its control block, queues, state
and peers. The host fills them (ringkernel_runtime.backends.cuda_actor) and the actor kernel
(templates/ring_actor.cu.j2, rendered by ringkernel_codegen.emit.cuda_ring) reads them.
"""
from __future__ import annotations

from .layout import Field, Layout

_F = lambda name, doc="": Field(name, "u8", doc=doc)  # noqa: E731

# Per-block descriptor (mapped memory; read once by the block at launch). Pointers are device addresses.
ACTOR_DESC = Layout("rk_actor_desc", [
    _F("ctrl"), _F("ctx"), _F("host_hdr"), _F("host_meta"), _F("host_payload"),
    _F("k2k_hdr"), _F("k2k_meta"), _F("k2k_payload"), _F("out_hdr"), _F("out_meta"), _F("out_payload"),
    _F("state"), _F("peers", "array of rk_peer_lane_desc"), _F("n_peers"), _F("batch"), _F("spin_ns"),
], size=128, doc="one resident actor block: where its control block, queues and state live")

PEER_LANE = Layout("rk_peer_lane_desc", [
    _F("hdr"), _F("meta"), _F("payload"), _F("lock", "device-memory producer lock of the inbox"),
], size=32, doc="a peer's K2K inbox as a sender on the GPU reaches it")


def c_header() -> str:
    """The descriptor structs for the actor kernel (rendered into every ring_actor source)."""
    return "\n\n".join(lay.c_struct() + "\n" + lay.c_asserts() for lay in (PEER_LANE, ACTOR_DESC)) + "\n"
