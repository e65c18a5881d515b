"""Malformed ring-kernel handlers (undecorated; the tests apply @ring_kernel)."""
from ring_kernels import Add, Item, Sum  # noqa: F401
from ringkernel_codegen import f32


def unknown_peer(ctx, msg: Add):
    ctx.send("nobody", Sum(value=msg.a))


def wrong_peer_type(ctx, msg: Item):
    ctx.send("next", Sum(value=1.0))


def wrong_reply_type(ctx, msg: Add) -> Sum:
    return Item(seq=1, value=2.0)


def writes_message(ctx, msg: Add) -> Sum:
    msg.a = 1.0
    return Sum(value=msg.a)


def state_without_state(ctx, msg: Add) -> Sum:
    ctx.state.count += 1
    return Sum(value=msg.a)


def uses_lambda(ctx, msg: Add) -> Sum:
    f = lambda v: v + 1  # noqa: E731
    return Sum(value=msg.a)


def unknown_field(ctx, msg: Add) -> Sum:
    return Sum(value=msg.c)


def three_params(ctx, msg: Add, extra: f32) -> Sum:
    return Sum(value=msg.a)


def wrong_annotation(ctx, msg: Item) -> Sum:
    return Sum(value=msg.value)


def bare_context(ctx, msg: Add) -> Sum:
    c = ctx
    return Sum(value=msg.a)


def unknown_method(ctx, msg: Add) -> Sum:
    ctx.reply(Sum(value=msg.a))
    return Sum(value=msg.a)


def send_as_value(ctx, msg: Add):
    ok = ctx.send("next", Sum(value=msg.a))


def fail_as_value(ctx, msg: Add):
    code = 3 + ctx.fail(2)
