"""The ``flow`` command line. Every user error becomes one red line and exit code 1; Ctrl-C becomes
"interrupted" and exit code 130."""

from __future__ import annotations

import signal
import sys

from rich.console import Console
from rich.markup import escape

from flow.cli.app import app
from flow.errors import FlowError

err = Console(stderr=True)

INTERRUPTED = 130  # 128 + SIGINT, what a shell reports for a process stopped by Ctrl-C


class Interrupted(KeyboardInterrupt):
    """Ctrl-C, raised by our SIGINT handler. A subclass, so every ``except KeyboardInterrupt`` still sees
    it, but not KeyboardInterrupt itself: CPython marks a plain KeyboardInterrupt that passes through an
    ``exec`` of a string (a dataclass being created by a lazy import, say) as unhandled and then ends
    the process by SIGINT (status -2) whatever ``sys.exit`` said."""


def _raise_interrupted(signum, frame) -> None:
    raise Interrupted()


def _interrupted() -> None:
    err.print("[bold red]interrupted[/]; rerun the same command to resume (finished stages and runs are kept)")
    sys.exit(INTERRUPTED)


def main() -> None:
    previous = signal.getsignal(signal.SIGINT)
    if previous is signal.default_int_handler:  # not when started with SIGINT ignored (a background job)
        signal.signal(signal.SIGINT, _raise_interrupted)
    try:
        _main()
    finally:
        if previous is signal.default_int_handler:
            signal.signal(signal.SIGINT, previous)


def _main() -> None:
    try:
        # With standalone_mode=False typer turns a KeyboardInterrupt inside a command into the *return
        # value* 130 (and typer.Exit(n) into n) instead of exiting: the exit status is decided here.
        code = app(standalone_mode=False)
    except FlowError as e:
        err.print(f"[bold red]error:[/] {escape(str(e))}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except KeyboardInterrupt:
        _interrupted()
    except SystemExit:
        raise
    except Exception as e:
        # Usage errors of typer's (vendored) click arrive here with standalone_mode=False.
        if hasattr(e, "show") and hasattr(e, "exit_code"):
            e.show()
            sys.exit(e.exit_code)
        if type(e).__name__ == "Abort":
            sys.exit(1)
        raise
    if code == INTERRUPTED:
        _interrupted()
    if isinstance(code, int) and not isinstance(code, bool) and code:
        sys.exit(code)
