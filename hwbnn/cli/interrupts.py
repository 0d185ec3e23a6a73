"""Ctrl-C and SIGTERM for the ``hwbnn`` command: exit 130 / 143 with one line, whenever they come.

Python turns SIGINT into a KeyboardInterrupt raised wherever the main thread happens to be. Some
imports catch it: Brevitas reads ``torch._dynamo.is_compiling`` inside a bare ``try/except:``
(brevitas/__init__.py), and that attribute imports ``torch._dynamo`` lazily, which takes about
2 s of the 3-5 s start-up; a Ctrl-C in that window was swallowed and ``hwbnn compile`` went on
to exit 0 (torch's C extension also clears errors raised while it imports numpy). Any bare
``except:`` in any dependency can do the same, so the fix does not depend on where it happens.

:func:`interrupt_guard` installs handlers for SIGINT and SIGTERM that remember the signal and
raise :class:`KeyboardInterrupt` (SIGTERM: its subclass :class:`Terminated`, so every
``except KeyboardInterrupt`` cleanup and the step runner's "interrupted" mark run for both).
Until the command acknowledges the signal (``Guard.acknowledge``, called where the command
ends), a timer raises it again every :data:`RETRY_SECONDS`, except while cleanup code is
handling it (an ``except``/``finally`` block whose exception, or that exception's context, is
the interrupt): a swallowed interrupt comes back, cleanups run undisturbed.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType

#: seconds after which an interrupt that nobody acknowledged is raised again
RETRY_SECONDS = 0.1
#: the exit status of a command stopped by each signal (128 + the signal's number)
EXIT_STATUS = {signal.SIGINT: 130, signal.SIGTERM: 143}


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that the same cleanups run."""

    signal_name = "SIGTERM"


class Interrupted(KeyboardInterrupt):
    """SIGINT (Ctrl-C), raised by the guard's handler."""

    signal_name = "SIGINT"


def _handling_interrupt() -> bool:
    """Whether an except/finally block is handling an interrupt (directly or as the context
    of the exception it handles): cleanup is running and must not be interrupted again."""
    exc: BaseException | None = sys.exc_info()[1]
    seen = 0
    while exc is not None and seen < 16:
        if isinstance(exc, KeyboardInterrupt):
            return True
        exc, seen = exc.__context__, seen + 1
    return False


class Guard:
    """The signal the command received and has not acknowledged yet (module docstring)."""

    def __init__(self) -> None:
        self.signum: int | None = None

    def _exception(self) -> KeyboardInterrupt:
        return Terminated() if self.signum == signal.SIGTERM else Interrupted()

    def on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.signum is None or signum == signal.SIGTERM:
            self.signum = signum
        signal.setitimer(signal.ITIMER_REAL, RETRY_SECONDS)
        raise self._exception()

    def on_timer(self, signum: int, frame: FrameType | None) -> None:
        if self.signum is None:
            return
        signal.setitimer(signal.ITIMER_REAL, RETRY_SECONDS)
        if not _handling_interrupt():
            raise self._exception()

    def acknowledge(self, exc: BaseException | None = None) -> int | None:
        """Stop raising; the exit status of the signal received (or of ``exc``), else None."""
        signal.setitimer(signal.ITIMER_REAL, 0)
        signum = self.signum
        if signum is None and isinstance(exc, KeyboardInterrupt):
            signum = signal.SIGTERM if isinstance(exc, Terminated) else signal.SIGINT
        return None if signum is None else EXIT_STATUS[signal.Signals(signum)]


@contextlib.contextmanager
def interrupt_guard() -> Iterator[Guard]:
    """Install the guard's handlers for the body (main thread only); restore the old ones."""
    guard = Guard()
    if threading.current_thread() is not threading.main_thread():
        yield guard
        return
    handlers = {
        signal.SIGINT: guard.on_signal,
        signal.SIGTERM: guard.on_signal,
        signal.SIGALRM: guard.on_timer,
    }
    # a signal ignored by the parent (``nohup``, a background job of a script) stays ignored
    handlers = {s: h for s, h in handlers.items() if signal.getsignal(s) is not signal.SIG_IGN}
    old = {signum: signal.signal(signum, handler) for signum, handler in handlers.items()}
    try:
        yield guard
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        for signum, handler in old.items():
            signal.signal(signum, handler)
