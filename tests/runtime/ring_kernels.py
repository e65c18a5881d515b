"""Ring kernels written in the DSL (compiled by ringkernel_codegen), used by test_ring_codegen.py."""
from ringkernel_codegen import device, f32, f64, i64, message, ring_kernel, u64
from ringkernel_codegen.dsl import globaltimer, shared_array


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



# -- slow handlers, for the watchdog (tests/runtime/test_heartbeat.py) ------------------------------
@message
class Work:
    seq: i64
    wait_ns: i64 = 0     # busy-wait this long on %globaltimer per step (0: none; the simulator has no timer)
    loops: i64 = 0       # then this many steps of arithmetic per step (the simulator's way to be slow)
    sends: i64 = 0       # steps of the fan-out kernels (one K2K send each)
    value: f64 = 0.0


@device
def dawdle_for(wait_ns: i64, loops: i64, value: f64) -> f64:
    x = value
    if wait_ns > 0:
        t0 = globaltimer()
        while globaltimer() - t0 < u64(wait_ns):
            pass
    for i in range(loops):
        x = x * 0.5 + 1.0
    return x


@ring_kernel(input=Work, output=Work)
def dawdle(ctx, msg: Work) -> Work:
    x = dawdle_for(msg.wait_ns, msg.loops, msg.value)
    return Work(seq=msg.seq, wait_ns=msg.wait_ns, loops=msg.loops, sends=msg.sends, value=x)


@ring_kernel(input=Work, output=None, peers={"next": Item})
def dawdle_fan_out(ctx, msg: Work):
    for i in range(msg.sends):
        x = dawdle_for(msg.wait_ns, msg.loops, msg.value)
        ctx.send("next", Item(seq=msg.seq * 1000 + i, value=x))


@ring_kernel(input=Work, output=None, parallel=True, peers={"next": Item})
def dawdle_fan_out_parallel(ctx, msg: Work):
    for i in range(msg.sends):
        x = dawdle_for(msg.wait_ns, msg.loops, msg.value)
        ctx.send("next", Item(seq=msg.seq * 1000 + i, value=x))


@ring_kernel(input=Item, output=Item)
def scratch(ctx, msg: Item) -> Item:
    """A handler with a shared array of its own (scratch for one message)."""
    s = shared_array(4, f64)
    s[0] = msg.value
    s[1] = s[0] * 2.0
    return Item(seq=msg.seq, value=s[1])
