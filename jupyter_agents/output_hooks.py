"""The three places where a cell's outputs can be changed inside the kernel, before they leave.

What a cell prints, displays or raises reaches the browser (and the saved notebook) by three
routes in ipykernel, and each has its own way in:

- streams: ``sys.stdout`` and ``sys.stderr`` are ipykernel ``OutStream`` objects; giving one a
  ``write`` of its own catches ``print``, logging handlers made earlier, and the thread that
  forwards what subprocesses and C code write to file descriptors 1 and 2;
- displays and results: the message hooks of ``display_pub`` and ``displayhook`` see every
  ``display_data``, ``update_display_data`` and ``execute_result`` before it is sent;
- errors: ipykernel publishes them itself from ``_showtraceback``, past the display hooks.

Output limits (:mod:`.output_limits`) and secret redaction (:mod:`.output_redaction`) both
use these; each helper undoes its change on exit, so they nest in any order.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

DISPLAY_MESSAGES = ("display_data", "update_display_data", "execute_result")

#: Takes a MIME bundle, returns the bundle to send instead.
BundleFilter = Callable[[dict[str, Any]], dict[str, Any]]
#: Takes ``_showtraceback``'s (etype, evalue, stb), returns the (evalue, stb) to show instead.
ErrorFilter = Callable[[Any, Any, list[str]], tuple[Any, list[str]]]


@contextmanager
def wrapped_streams(wrap: Callable[[Any, str], Callable[[Any], Any]]) -> Iterator[None]:
    """Give stdout and stderr the ``write`` that ``wrap(their_write, name)`` returns."""
    with ExitStack() as stack:
        for name in ("stdout", "stderr"):
            stack.enter_context(_wrapped_write(getattr(sys, name), name, wrap))
        yield


@contextmanager
def _wrapped_write(stream: Any, name: str, wrap: Callable[..., Any]) -> Iterator[None]:
    had_own = "write" in getattr(stream, "__dict__", {})
    original = stream.write
    try:
        stream.write = wrap(original, name)
    except (AttributeError, TypeError):  # a stream that takes no attributes: leave it be
        yield
        return
    try:
        yield
    finally:
        if had_own:
            stream.write = original
        else:
            del stream.write


@contextmanager
def filtered_displays(shell: Any, change: BundleFilter) -> Iterator[None]:
    """Pass the data of every display and result published while inside through ``change``."""

    def hook(message: dict[str, Any]) -> dict[str, Any]:
        content = message.get("content") or {}
        if message.get("msg_type") in DISPLAY_MESSAGES and isinstance(content.get("data"), dict):
            content["data"] = change(content["data"])
        return message

    with ExitStack() as stack:
        for publisher in (getattr(shell, "display_pub", None), getattr(shell, "displayhook", None)):
            if hasattr(publisher, "register_hook"):
                publisher.register_hook(hook)
                stack.callback(publisher.unregister_hook, hook)
        yield


@contextmanager
def filtered_errors(shell: Any, change: ErrorFilter) -> Iterator[None]:
    """Pass every error shown while inside (its message and traceback) through ``change``."""
    show = getattr(shell, "_showtraceback", None)
    if show is None:
        yield
        return

    def filtered(etype: Any, evalue: Any, stb: list[str]) -> Any:
        evalue, stb = change(etype, evalue, list(stb))
        return show(etype, evalue, stb)

    own = shell.__dict__.get("_showtraceback")  # another patch (ours or an extension's)
    shell._showtraceback = filtered
    try:
        yield
    finally:
        if own is None:
            del shell._showtraceback
        else:
            shell._showtraceback = own
