"""Ring-kernel context lowering: ctx.state / ctx.send / ctx.fail / ctx.now / ctx.actor_id, msg.<field>,
message constructors and `return Reply(...)`. Hooks used by resolve.py and infer.py."""
from __future__ import annotations

from .. import types as T
from ..errors import CodegenError
from ..intrinsics import table
from ..ir import nodes as ir
from ..message import is_message_type
from .hooks import Hooks

# context methods -> number of positional arguments; send and fail are statements (ir.Send,
# ir.Fail), now and actor_id the ring-scoped intrinsics of intrinsics/ring.toml
CTX_METHODS = {"send": 2, "fail": 1, "now": 0, "actor_id": 0}
STATEMENTS = ("send", "fail")


def field_type(cls, name: str, span, what: str):
    if name not in cls.field_types:
        raise CodegenError(f"{what} {cls.__name__} has no field '{name}'", span,
                           f"fields are: {', '.join(cls.field_types)}")
    t, count = cls.field_types[name], cls.field_counts[name]
    return t if count == 1 else T.ArrayType(t, 1)


class RingHooks(Hooks):
    def __init__(self, ctx_name: str, msg_name: str, input_type, output_type, state_type, peers: dict):
        self.ctx, self.msg = ctx_name, msg_name
        self.input_type, self.output_type, self.state_type = input_type, output_type, state_type
        self.peers = dict(peers)
        self.peer_order = sorted(self.peers)

    def is_message(self, obj) -> bool:
        return is_message_type(obj)

    # ------------------------------------------------------------ resolver hooks
    def name(self, resolver, e):
        if e.id == self.ctx:
            raise CodegenError(f"'{self.ctx}' (the actor context) can only be used as {self.ctx}.state.<field>, "
                               f"{self.ctx}.send(...), {self.ctx}.fail(code), {self.ctx}.now() or "
                               f"{self.ctx}.actor_id()", e.span)
        if e.id == self.msg:
            raise CodegenError(f"the message '{self.msg}' can only be read field by field ({self.msg}.<field>)",
                               e.span, f"fields are: {', '.join(self.input_type.field_types)}")
        return None

    def attribute(self, resolver, e):
        if isinstance(e.value, ir.Name) and e.value.id == self.msg:
            ref = ir.MsgRef(self.msg, e.attr, span=e.span)
            ref.type = field_type(self.input_type, e.attr, e.span, "message")
            ref.extent = self.input_type.field_counts[e.attr]
            return ref
        if isinstance(e.value, ir.Attribute) and isinstance(e.value.value, ir.Name) and \
                e.value.value.id == self.ctx and e.value.attr == "state":
            if self.state_type is None:
                raise CodegenError("this ring kernel has no state", e.span,
                                   "declare it: @ring_kernel(..., state=MyState) with a @message class")
            ref = ir.StateRef(e.attr, span=e.span)
            ref.type = field_type(self.state_type, e.attr, e.span, "state")
            ref.extent = self.state_type.field_counts[e.attr]
            return ref
        if isinstance(e.value, ir.Name) and e.value.id == self.ctx:
            if e.attr == "state":
                raise CodegenError("use ctx.state.<field>", e.span)
            raise CodegenError(f"the context has no attribute '{e.attr}'", e.span,
                               "use ctx.state.<field>, ctx.send, ctx.fail, ctx.now, ctx.actor_id")
        return None

    def load(self, resolver, e):
        return None

    def _ctx_method(self, e):
        """The context method `e` calls (ctx.<m>(...)), its arguments checked; None if not one."""
        f = e.callee if isinstance(e, ir.Call) else None
        if not (isinstance(f, ir.Attribute) and isinstance(f.value, ir.Name) and f.value.id == self.ctx):
            return None
        if f.attr not in CTX_METHODS:
            raise CodegenError(f"the context has no method '{f.attr}'", e.span,
                               "use ctx.send, ctx.fail, ctx.now, ctx.actor_id")
        if e.kwargs or len(e.args) != CTX_METHODS[f.attr]:
            raise CodegenError(f"ctx.{f.attr}() takes {CTX_METHODS[f.attr]} positional arguments", e.span)
        return f.attr

    def call(self, resolver, e):
        method = self._ctx_method(e)
        if method is None:
            return None
        if method in STATEMENTS:
            raise CodegenError(f"ctx.{method}(...) is a statement: it has no value", e.span,
                               f"call it on a line of its own: ctx.{method}(...)")
        return ir.Call(table()[method], [], span=e.span)

    def expr_stmt(self, resolver, s):
        e = s.value
        method = self._ctx_method(e)
        if method == "fail":
            return ir.Fail(resolver.expr(e.args[0]), span=s.span)
        if method != "send":
            return None
        peer = e.args[0]
        if not (isinstance(peer, ir.Const) and isinstance(peer.value, str)):
            raise CodegenError("ctx.send needs the peer's name as a string literal", peer.span,
                               'write ctx.send("next", Msg(...))')
        if peer.value not in self.peers:
            known = ", ".join(sorted(self.peers)) or "none declared"
            raise CodegenError(f"unknown peer '{peer.value}' (peers: {known})", peer.span,
                               "declare it: @ring_kernel(..., peers={'name': MsgType})")
        payload = resolver.expr(e.args[1])
        want = self.peers[peer.value]
        if not (isinstance(payload, ir.Call) and payload.callee is want):
            raise CodegenError(f"peer '{peer.value}' receives {want.__name__} messages; build one inline: "
                               f"ctx.send(\"{peer.value}\", {want.__name__}(field=...))", e.args[1].span)
        return ir.Send(self.peer_order.index(peer.value), peer.value, want, payload, span=s.span)

    def construct(self, resolver, cls, e, args):
        if args:
            raise CodegenError(f"build messages with keyword arguments: {cls.__name__}(field=value, ...)", e.span)
        fields = {}
        for k, v in e.kwargs.items():
            field_type(cls, k, v.span, "message")
            if cls.field_counts[k] != 1:
                raise CodegenError(f"array field '{k}' cannot be set in a constructor", v.span,
                                   "set array fields of state with ctx.state.<field>[i] = ...")
            fields[k] = resolver.expr(v)
        return ir.Call(cls, [], fields, span=e.span)

    def store_attribute(self, resolver, s):
        t = s.array
        if isinstance(t, ir.Attribute) and isinstance(t.value, ir.Attribute) and \
                isinstance(t.value.value, ir.Name) and t.value.value.id == self.ctx and t.value.attr == "state":
            ref = self.attribute(resolver, t)
            if isinstance(ref.type, T.ArrayType):
                raise CodegenError(f"state field '{t.attr}' is an array: assign elements", s.span,
                                   f"ctx.state.{t.attr}[i] = ...")
            return ir.StateStore(t.attr, resolver.expr(s.value), span=s.span)
        if isinstance(t, ir.Attribute) and isinstance(t.value, ir.Name) and t.value.id == self.msg:
            raise CodegenError("the incoming message is read-only", s.span, "copy the field into a local")
        raise CodegenError("cannot assign to this attribute in a ring kernel", s.span,
                           "write state with ctx.state.<field> = value")

    def store(self, resolver, s):
        if isinstance(s.array, ir.MsgRef):
            raise CodegenError("the incoming message is read-only", s.span)
        return s

    # ------------------------------------------------------------ inference hooks
    def ty(self, inf, e, soft):
        if isinstance(e, (ir.MsgRef, ir.StateRef)):
            return (e.type, False)
        if isinstance(e, ir.Call) and is_message_type(e.callee):
            for v in e.kwargs.values():
                tw = inf.ty(v, soft)
                if tw is not None:
                    inf.scalar(tw, v)
            return (e.callee, False)
        raise CodegenError(f"cannot type {type(e).__name__} here", e.span)

    def fix(self, inf, e):
        if isinstance(e, ir.Call):
            self.fix_call(inf, e)

    def fix_call(self, inf, e):
        if is_message_type(e.callee):
            for k, v in list(e.kwargs.items()):
                inf.fix(v)
                e.kwargs[k] = inf.coerce(v, e.callee.field_types[k])

    def coerce_stmt(self, inf, s):
        if isinstance(s, ir.StateStore):
            inf.ty(s.value)
            inf.fix(s.value)
            s.value = inf.coerce(s.value, self.state_type.field_types[s.field_name])
        elif isinstance(s, ir.Send):
            inf.ty(s.value)
            inf.fix(s.value)
        elif isinstance(s, ir.Fail):
            inf.ty(s.value)
            inf.fix(s.value)
            inf.scalar((s.value.type, False), s.value)
            s.value = inf.coerce(s.value, T.i64)

    def is_return_handled(self, inf, s) -> bool:
        v = s.value
        if self.output_type is None:
            raise CodegenError("this ring kernel has output=None: it cannot return a reply", s.span,
                               "declare @ring_kernel(..., output=ReplyType) or use a bare `return`")
        if not (isinstance(v, ir.Call) and v.callee is self.output_type):
            raise CodegenError(f"a handler returns its reply as {self.output_type.__name__}(field=...)", s.span,
                               f"write `return {self.output_type.__name__}(...)`")
        return True
