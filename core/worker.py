"""``python -m core.worker …``: an alias of ``python -m core worker …`` (the shared definitions promise both)."""

from __future__ import annotations

import sys

from core.cli import main


def alias_main(argv: list[str] | None = None) -> int:
    """Run ``python -m core [--workspace W] worker [--slots N] [--until-idle]``; ``--workspace`` may come anywhere."""
    import argparse

    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--workspace")
    known, rest = pre.parse_known_args(argv if argv is not None else sys.argv[1:])
    return main([*(["--workspace", known.workspace] if known.workspace else []), "worker", *rest])


if __name__ == "__main__":
    sys.exit(alias_main())
