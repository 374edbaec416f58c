"""The ``flow`` command line. Every user error becomes one red line and exit code 1."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.markup import escape

from flow.cli.app import app
from flow.errors import FlowError

err = Console(stderr=True)


def main() -> None:
    try:
        app(standalone_mode=False)
    except FlowError as e:
        err.print(f"[bold red]error:[/] {escape(str(e))}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except KeyboardInterrupt:
        err.print("[bold red]interrupted[/]; rerun the same command to resume (finished stages and runs are kept)")
        sys.exit(130)
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
