"""A test-only object whose unpickling runs ``fn(*args)``: what a hostile checkpoint carries."""

from __future__ import annotations


class Payload:
    """``torch.save({..., "x": Payload(os.system, "touch marker")}, path)`` makes a checkpoint that runs the
    command when it is loaded without ``weights_only``."""

    def __init__(self, fn, *args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args
