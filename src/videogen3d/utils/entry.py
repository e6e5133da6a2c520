"""The ``python -m videogen3d.<module>`` entry points' shared ending: a missing file or a bad option or input is one
line on stderr naming it, and exit status 1, never a traceback."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, NoReturn

__all__ = ["run_main"]


def run_main(main: Callable[[], Any], prog: str) -> NoReturn:
    """Run ``main()`` and exit: with its status where it returns an int, 0 otherwise; ``FileNotFoundError`` and
    ``ValueError`` (the refusals these programs raise, each naming the file, key or value) print ``prog: message``
    and exit 1."""
    try:
        status = main()
    except (FileNotFoundError, ValueError) as e:
        print(f"{prog}: {e}", file=sys.stderr)
        sys.exit(1)
    sys.exit(status if isinstance(status, int) and not isinstance(status, bool) else 0)
