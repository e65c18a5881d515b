"""The adder actor from the README: a resident handler that answers each Add with a Sum.

Runs on the default backend (cpu here; cuda once the GPU backend runs ring kernels).
    python examples/actors_hello.py
"""
import time

import numpy as np

from ringkernel_codegen import f32, i64, message, ring_kernel
from ringkernel_codegen.progress import heartbeat
from ringkernel_runtime import KernelState, LaunchOptions, Runtime


@message
class Add:
    a: f32
    b: f32


@message
class Sum:
    value: f32


@message
class Totals:
    count: i64


@ring_kernel(input=Add, output=Sum, state=Totals)
def adder(ctx, msg: Add) -> Sum:
    ctx.state.count += 1
    return Sum(value=msg.a + msg.b)


def main() -> None:
    heartbeat("actors_hello")  # a status line on stderr every few seconds (the first run compiles)
    with Runtime(backend="auto") as rt:
        k = rt.launch(adder, LaunchOptions(queue_capacity=16384))
        k.send(Add(a=1.0, b=2.0))
        reply = k.receive(timeout=5.0)
        print(f"1 + 2 = {reply.value}")
        assert reply.value == 3.0

        batch = Add.zeros(10_000)
        batch["a"] = np.arange(10_000, dtype=np.float32)
        batch["b"] = 0.5
        t0 = time.perf_counter()
        k.send_many(batch, timeout=5.0)
        replies = k.receive_many(len(batch), timeout=5.0)
        dt = time.perf_counter() - t0
        assert len(replies) == len(batch), f"lost replies: {len(replies)} of {len(batch)}"
        assert np.array_equal(replies["value"], batch["a"] + batch["b"])
        print(f"{len(batch)} messages round trip in {dt * 1e3:.1f} ms; state: {k.read_state()}")

        k.deactivate()
        k.activate()
        k.terminate()
        assert k.state == KernelState.TERMINATED
        print("OK")


if __name__ == "__main__":
    main()
