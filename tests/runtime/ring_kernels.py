"""Ring kernels written in the DSL (compiled by ringkernel_codegen), used by test_ring_codegen.py."""
from ringkernel_codegen import f32, f64, i64, message, ring_kernel


@message
class Add:
    a: f32
    b: f32


@message
class Sum:
    value: f32


@message
class Item:
    seq: i64
    value: f64


@message
class Stamp:
    seq: i64
    now: i64
    actor: i64


@message
class Totals:
    count: i64
    total: f64


@ring_kernel(input=Add, output=Sum)
def adder(ctx, msg: Add) -> Sum:
    return Sum(value=msg.a + msg.b)


@ring_kernel(input=Item, output=Item, state=Totals)
def accumulate(ctx, msg: Item) -> Item:
    if msg.value < 0.0:
        ctx.fail(42)
    ctx.state.count += 1
    ctx.state.total += msg.value
    return Item(seq=msg.seq, value=ctx.state.total)


@ring_kernel(input=Item, output=None, peers={"next": Item})
def double(ctx, msg: Item):
    ctx.send("next", Item(seq=msg.seq, value=msg.value * 2.0))


@ring_kernel(input=Item, output=Stamp)
def stamp(ctx, msg: Item) -> Stamp:
    return Stamp(seq=msg.seq, now=ctx.now(), actor=ctx.actor_id())


@ring_kernel(input=Item, output=Item)
def evens_only(ctx, msg: Item) -> Item:
    if msg.seq % 2 == 1:
        return
    return Item(seq=msg.seq, value=msg.value)


@message
class Job:
    seq: i64
    value: f64


@ring_kernel(input=Job, output=Job, parallel=True)
def square(ctx, msg: Job) -> Job:
    if msg.value < 0.0:
        ctx.fail(7)
    return Job(seq=msg.seq, value=msg.value * msg.value)


@ring_kernel(input=Job, output=None, parallel=True, peers={"next": Job})
def forward(ctx, msg: Job):
    ctx.send("next", Job(seq=msg.seq, value=msg.value))
