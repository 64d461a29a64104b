"""Exceptions named like the real ones, so tracebacks end with the real type names."""

from __future__ import annotations


class ResourceExhaustedError(Exception):
    """TensorFlow's out-of-memory error."""


ResourceExhaustedError.__module__ = "tensorflow.python.framework.errors_impl"


class TestLossChangeTooSmallException(StopIteration):
    """pacemaker's early-stopping signal (a StopIteration raised in the optimizer callback)."""


TestLossChangeTooSmallException.__module__ = "pyace.generalfit"
