"""Three actors chained by K2K queues under a supervisor: parse -> scale -> sum.

`scale` fails on negative inputs (ctx.fail); its supervisor restarts it (OneForOne), the failed
message goes to rt.dead_letters, and the pipeline carries on with the next message.
    python examples/pipeline.py
"""
import numpy as np

from ringkernel_codegen import f64, i64, message, ring_kernel
from ringkernel_codegen.progress import heartbeat
from ringkernel_runtime import LaunchOptions, OneForOne, Runtime


@message
class Reading:
    seq: i64
    value: f64


@message
class Scaled:
    seq: i64
    value: f64


@message
class Total:
    seq: i64
    running: f64


@message
class Acc:
    running: f64


@ring_kernel(input=Reading, output=None, peers={"next": Scaled})
def parse(ctx, msg: Reading):
    ctx.send("next", Scaled(seq=msg.seq, value=msg.value))


@ring_kernel(input=Scaled, output=None, peers={"next": Scaled})
def scale(ctx, msg: Scaled):
    if msg.value < 0.0:
        ctx.fail(1)  # a bad reading: this message is dead-lettered and the actor restarted
    ctx.send("next", Scaled(seq=msg.seq, value=msg.value * 2.0))


@ring_kernel(input=Scaled, output=Total, state=Acc)
def total(ctx, msg: Scaled) -> Total:
    ctx.state.running += msg.value
    return Total(seq=msg.seq, running=ctx.state.running)


def main() -> None:
    heartbeat("pipeline")  # a status line on stderr every few seconds (the first run compiles)
    n = 1000
    values = np.arange(n, dtype=np.float64)
    values[500] = -1.0  # the one bad reading
    with Runtime(backend="auto") as rt:
        sink = rt.spawn(total, name="pipe/total", restart=OneForOne(max_restarts=3, window=60.0))
        mid = rt.spawn(scale, name="pipe/scale", restart=OneForOne(max_restarts=3, window=60.0),
                       options=LaunchOptions(peers={"next": sink}))
        head = rt.spawn(parse, name="pipe/parse", restart=OneForOne(max_restarts=3, window=60.0),
                        options=LaunchOptions(peers={"next": mid}))
        batch = Reading.zeros(n)
        batch["seq"] = np.arange(n)
        batch["value"] = values
        head.send_many(batch, timeout=5.0)
        out = sink.receive_many(n - 1, timeout=10.0)
        good = values[values >= 0]
        assert len(out) == n - 1, f"expected {n - 1} totals, got {len(out)}"
        assert np.allclose(out["running"][-1], 2.0 * good.sum())
        print(f"processed {len(out)} readings, final total {out['running'][-1]:.1f}")
        print(f"scale restarted {mid.restart_count} time(s); dead letters: {len(rt.dead_letters)}")
        for d in rt.dead_letters:
            print(f"  dead letter: reason={d.reason} destination={d.destination}")
        print("actors:", [h.name for h in rt.registry.lookup_pattern("pipe/*")])
        assert mid.restart_count == 1 and len(rt.dead_letters) == 1
        print("OK")


if __name__ == "__main__":
    main()
