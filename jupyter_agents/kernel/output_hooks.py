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
use these. Each helper undoes its change on exit. They may also be exited out of order (the
prompt cell's redaction ends at ``post_run_cell``, not at the end of a ``with``): a change
whose helper has exited passes everything through unchanged, and is taken off as soon as
nothing was put on top of it.
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
            make = lambda write, name=name: wrap(write, name)  # noqa: E731
            stack.enter_context(patched(getattr(sys, name), "write", make))
        yield


@contextmanager
def filtered_displays(
    shell: Any,
    change: BundleFilter,
    metadata: BundleFilter | None = None,
    kinds: tuple[str, ...] = DISPLAY_MESSAGES,
) -> Iterator[None]:
    """Pass the data of every display and result published while inside through ``change``
    (and its metadata through ``metadata``, if given); ``kinds`` narrows the message types."""

    def hook(message: dict[str, Any]) -> dict[str, Any]:
        content = message.get("content") or {}
        if message.get("msg_type") in kinds and isinstance(content.get("data"), dict):
            content["data"] = change(content["data"])
            if metadata is not None and isinstance(content.get("metadata"), dict):
                content["metadata"] = metadata(content["metadata"])
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

    def changing(show: Callable[..., Any]) -> Callable[..., Any]:
        def changed(etype: Any, evalue: Any, stb: list[str]) -> Any:
            evalue, stb = change(etype, evalue, list(stb))
            return show(etype, evalue, stb)

        return changed

    with patched(shell, "_showtraceback", changing):
        yield


@contextmanager
def patched(owner: Any, attribute: str, make: Callable[[Any], Any]) -> Iterator[None]:
    """``owner.attribute`` is ``make(its current value)`` while inside; then it is undone.

    Undone even when exited out of order: if another patch sits on top by then, this one
    only stops changing anything (it stays in that chain, passing calls through) and is
    taken off when the one on top goes.
    """
    current = getattr(owner, attribute)
    own = getattr(owner, "__dict__", {}).get(attribute)  # None: the class's own applied
    patch = _Switchable(make(current), current, own)
    try:
        setattr(owner, attribute, patch)
    except (AttributeError, TypeError):  # an object that takes no attributes: leave it be
        yield
        return
    try:
        yield
    finally:
        patch.exited = True
        if owner.__dict__.get(attribute) is patch:  # nothing was put on top: take it off
            below = _live(own)
            if below is None:
                delattr(owner, attribute)
            else:
                setattr(owner, attribute, below)


class _Switchable:
    """Calls ``changed`` until its helper exits, then ``original``: a patch that can be left
    in someone else's chain and still does nothing. ``own`` is what it replaced on the object
    itself (None: nothing; the class's method applied)."""

    def __init__(self, changed: Callable[..., Any], original: Callable[..., Any], own: Any):
        self.changed, self.original, self.own = changed, original, own
        self.exited = False

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return (self.original if self.exited else self.changed)(*args, **kwargs)


def _live(patch: Any) -> Any:
    """``patch`` without the exited patches at its top: what to put back on the object."""
    while isinstance(patch, _Switchable) and patch.exited:
        patch = patch.own
    return patch
