"""The persistent simulation's mailbox: the words beside an actor control block that drive a
resident step loop (@persistent), and the one command the actors do not have.

A simulation's control memory is one actor control block (layout.CONTROL_BLOCK: state, command,
command_seq/command_ack, heartbeat, exit_reason, error_code, the same words and the same
sequence + acknowledgement protocol as an actor) followed by this mailbox:

    steps     steps completed; written by the loop alone (release) after each whole step
    target    the loop runs while steps < target; written by the host alone (run(n): target += n)
    stop_at   the loop hands the boundary after step `stop_at` to the host (a scheduled inject or
              set); -1: none. Written by the host's simulation thread alone.
    parked    n > 0 while the loop waits at its n-th park for the host to serve a boundary; 0 when
              not parked. A GPU loop parks until the host acknowledges CMD_BOUNDARY (command_ack
              >= its sequence) or moves stop_at; the host serves each park number once (a stale
              nonzero word seen after serving must not be served again: the loop may already be
              stepping). The CPU loop returns to its thread instead.

Host -> loop commands (control block `command`, then `command_seq`): lifecycle.CMD_ACTIVATE
(resume), CMD_DEACTIVATE (pause), CMD_TERMINATE, and CMD_BOUNDARY below: stop at the next step
boundary and hand it to the host (read, inject or set "now"); the host acknowledges it once served.
The loop reads commands once per step boundary (on a GPU one thread reads them and the grid barrier
broadcasts them), so a command is never seen by half of a step.
"""
from __future__ import annotations

from .layout import CONTROL_BLOCK, Field, Layout

CMD_BOUNDARY = 16           # distinct from every lifecycle.CMD_* (the actors never see it)
EXIT_BOUNDARY = 16          # the loop returned to hand a step boundary to the host

MAILBOX = Layout("rk_persistent_mailbox", [
    Field("steps", "i8", doc="steps completed (the loop writes, release)"),
    Field("target", "i8", doc="run while steps < target (the host writes)"),
    Field("stop_at", "i8", doc="hand the boundary after this step to the host; -1 none"),
    Field("boundary_step", "i8", doc="steps completed when the loop last handed a boundary to the host"),
    Field("parked", "i8", doc="n > 0 while the loop waits at its n-th park for the host; else 0"),
], size=128, doc="persistent simulation mailbox, after its control block")

CB_WORDS = CONTROL_BLOCK.size // 8
MB = {f.name: CB_WORDS + MAILBOX.word(f.name) for f in MAILBOX.fields}   # words in ctrl (int64 view)
WORDS = (CONTROL_BLOCK.size + MAILBOX.size) // 8


def c_header() -> str:
    """The mailbox struct and `rk_persistent_block` (control block + mailbox), static_assert-checked;
    include it after layout.c_header() (which declares rk_control_block)."""
    return "\n".join([
        MAILBOX.c_struct(), MAILBOX.c_asserts(), "",
        "/* one simulation's control memory: the actor control block, then the mailbox */",
        "typedef struct alignas(128) rk_persistent_block {",
        "    rk_control_block control;",
        "    rk_persistent_mailbox mailbox;",
        "} rk_persistent_block;",
        f"static_assert(sizeof(rk_persistent_block) == {CONTROL_BLOCK.size + MAILBOX.size}, "
        "\"rk_persistent_block size\");",
        "#if !defined(__CUDACC_RTC__)",
        f"static_assert(offsetof(rk_persistent_block, mailbox) == {CONTROL_BLOCK.size}, "
        "\"rk_persistent_block.mailbox offset\");",
        "#endif",
        f"#define RK_CMD_BOUNDARY {CMD_BOUNDARY}",
        f"#define RK_EXIT_BOUNDARY {EXIT_BOUNDARY}",
        "",
    ])


__all__ = ["CB_WORDS", "CMD_BOUNDARY", "EXIT_BOUNDARY", "MAILBOX", "MB", "WORDS", "c_header"]
