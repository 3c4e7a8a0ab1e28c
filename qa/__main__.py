"""`python -m qa` and the installed `qa` script (`qa.__main__:run`).

A Ctrl-C while the command line is still loading (Typer, rich: about a fifth of a second) exits quietly with status
130, as it does once a command runs, instead of printing the traceback of an import."""

import sys


def run() -> None:
    try:
        from qa.cli import main
    except KeyboardInterrupt:
        sys.exit(130)
    main()


if __name__ == "__main__":
    run()
