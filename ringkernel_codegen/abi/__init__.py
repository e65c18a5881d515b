"""Contracts the compiler and the runtime share: binary layouts, ABI constants, lifecycle codes.

The compiler emits code against these; the runtime builds the memory and drives the loops that
code runs in. Both import them from here (the compiler never imports the runtime):

    layout       Field / Layout (one Python description -> numpy dtype, C struct, static_asserts),
                 the control block, queue header, message header, K2K route; c_header()
    actor        the ring-kernel handler contract: return codes, ctx word indices, placeholder dtypes
    lifecycle    KernelState values, control-block commands (CMD_*) and exit reasons (EXIT_*)
    descriptors  the CUDA actor's per-block descriptor (ACTOR_DESC, PEER_LANE) and its c_header()
    simulator    whether numba's CUDA simulator is active (the emitted numba module depends on it)

Each submodule imports only numpy and the ones listed before it.
"""
