"""tuna's command line: pick the command, parse its arguments, run it, turn errors into one
line and an exit code. The commands themselves are declared in tuna.commands."""

from __future__ import annotations

import os
import sys

from tuna import settings
from tuna.cli_parser import is_help, overview, resolve_service, select
from tuna.commands import COMMANDS
from tuna.errors import TunaError


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _run(argv: list[str], out_box: list) -> int:
    if not argv:
        print(overview(COMMANDS), file=sys.stderr)
        return 2
    chosen, text = select(argv, COMMANDS)
    if chosen is None:
        print(text)
        return 0
    args = chosen.parser(with_epilog=is_help(argv)).parse_args(argv[1:])
    resolve_service(args, f"tuna {chosen.name}")
    settings.validate()
    from tuna.output import Output  # not for `tuna --help`
    out_box.append(Output(json_mode=getattr(args, "json", False)))
    return chosen.run(args, out_box[0])


def main(argv: list[str] | None = None) -> int:
    import signal

    # A kill from a CI runner or supervisor gets the same truthful cleanup as Ctrl-C.
    signal.signal(signal.SIGTERM, _interrupt)
    out_box: list = []
    try:
        return _run(sys.argv[1:] if argv is None else argv, out_box)
    except TunaError as exc:
        from tuna.output import Output

        (out_box[0] if out_box else Output()).fail(exc)
        return exc.exit_code
    except KeyboardInterrupt:
        print("tuna: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # A reader such as `head` stopped reading: end quietly, as coreutils do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as exc:
        if os.environ.get("TUNA_DEBUG"):
            raise
        print(f"tuna: internal error: {type(exc).__name__}: {exc} (TUNA_DEBUG=1 shows the "
              "traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
