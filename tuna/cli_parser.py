"""How tuna's commands are declared and parsed: one declaration per command (name, help,
example, arguments, handler), argparse underneath, usage errors as one line (exit 2)."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from dataclasses import MISSING, dataclass, fields

from tuna.errors import UsageError

PROG = "tuna"
DISTRIBUTION = "tuna-llm"


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (and exit 2) pointing at the command's --help."""

    def error(self, message: str):
        raise UsageError(f"{self.prog}: {message} (see `{self.prog} --help`)")


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Shows each option's default (argparse's own wording) where there is one worth showing."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "%(default)" in text or action.default in (None, False, "", argparse.SUPPRESS):
            return text
        return text + " (default: %(default)s)"


def default(cls, name: str):
    """A request dataclass's default, so --help and the code cannot disagree."""
    found = next(f for f in fields(cls) if f.name == name)
    return found.default if found.default is not MISSING else found.default_factory()


def whole_number(text: str) -> int:
    if not re.fullmatch(r"[+-]?\d{1,12}", text.strip()):
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}")
    return int(text)


def duration(text: str) -> float:
    """Seconds from '90', '90s', '10m', '2h' or '1d'."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([smhd]?)", text.strip())
    if not match or float(match.group(1)) <= 0:
        raise argparse.ArgumentTypeError(f"expected a duration like 90s, 10m or 2h, got {text!r}")
    return float(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]


def lower(text: str) -> str:
    return text.strip().lower()


@dataclass(frozen=True)
class Environment:
    """The variables a command reads: tuna's own, and whether also the providers'."""

    names: tuple[str, ...] = ("TUNA_DEBUG",)
    providers: bool = False


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    example: str
    arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, object], int]
    environment: Environment

    def parser(self, with_epilog: bool) -> Parser:
        # No abbreviations: a future flag must not change what an old script's `--dry` meant.
        parser = Parser(prog=f"{PROG} {self.name}", allow_abbrev=False, description=self.help[0].upper() + self.help[1:]
                        + ".", formatter_class=HelpFormatter,
                        epilog=self._epilog() if with_epilog else None)
        self.arguments(parser)
        return parser

    def _epilog(self) -> str:
        lines = ["example:", f"  {self.example}"]
        variables = {name: TUNA_ENVIRONMENT[name] for name in self.environment.names}
        if self.environment.providers:
            variables.update(_providers_environment())
        if variables:
            lines += ["", "environment:"]
            lines += [f"  {name:<20} {meaning}" for name, meaning in variables.items()]
        return "\n".join(lines)


TUNA_ENVIRONMENT = {
    "TUNA_STATE_DIR": "where the state database lives (default ~/.tuna)",
    "TUNA_POLL_INTERVAL": "longest pause in seconds between status or log reads",
    "TUNA_DEBUG": "set to 1 to show the traceback of an unexpected error",
    "HF_ENDPOINT": "the Hugging Face Hub the model check reads (default https://huggingface.co)",
    "HF_TOKEN": "a Hugging Face token, for checking gated models' config.json",
}


def _providers_environment() -> dict[str, str]:
    from tuna import registry
    from tuna.errors import TunaError

    variables = {}
    for name in registry.names() + registry.names(registry.SPOT_GROUP):
        try:
            variables.update(registry.provider_class(name).environment)
        except TunaError:
            continue  # a broken plugin does not break --help
    return variables


def provider_option_groups(parser: argparse.ArgumentParser) -> None:
    """A group for each installed provider's own deploy options; each value lands in
    `option:<providers>:<name>`, where a flag several providers declare (`--public`) names them
    all, comma-separated, and shows in the first one's group."""
    from tuna import registry
    from tuna.errors import TunaError

    declared: dict[str, list] = {}  # provider -> its options
    owners: dict[str, list[str]] = {}  # flag -> the providers declaring it
    spot = registry.names(registry.SPOT_GROUP)
    for provider in registry.names() + spot:
        try:
            declared[provider] = list(registry.provider_class(provider).options)
        except TunaError:
            continue  # a broken plugin does not break deploy
        for option in declared[provider]:
            owners.setdefault(option.flag, []).append(provider)
    for provider, options in declared.items():
        first = [option for option in options if owners[option.flag][0] == provider]
        if not first:
            continue
        group = parser.add_argument_group(
            f"{provider} options (" + ("the spot fleet of --hybrid)" if provider in spot else
                                      f"with --serverless-provider {provider})"))
        for option in first:
            shape = ({"action": "store_const", "const": "yes"} if option.switch
                     else {"metavar": option.metavar})
            also = [p for p in owners[option.flag] if p != provider]
            group.add_argument(
                option.flag, dest=f"option:{','.join(owners[option.flag])}:{option.name}",
                **shape, help=option.help + (f" (also for {', '.join(also)})" if also else "")
                + (f" (also ${option.env})" if option.env else ""))


def json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON document on stdout")


def service_flag(parser: argparse.ArgumentParser, required: bool = True) -> None:
    """The service, by position (`tuna status NAME`, as `sky serve status NAME` has it) or by
    --service-name; `service_name` holds it after `resolve_service`."""
    parser.add_argument("name", nargs="?", metavar="NAME",
                        help="the service, as `tuna list` shows it")
    parser.add_argument("--service-name", metavar="NAME", help="the same, as a flag")
    parser.set_defaults(service_required=required)


def resolve_service(args: argparse.Namespace, prog: str) -> None:
    """One service name from NAME or --service-name; a usage error when they differ, or when
    the command needs one and neither is given."""
    if not hasattr(args, "service_required"):
        return
    if args.name and args.service_name and args.name != args.service_name:
        raise UsageError(f"{prog}: NAME {args.name!r} and --service-name {args.service_name!r} "
                         "differ; give one")
    args.service_name = args.service_name or args.name
    if args.service_required and not args.service_name:
        raise UsageError(f"{prog}: which service? `{prog} NAME` (names: `tuna list`)")


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return f"{PROG} {installed(DISTRIBUTION)}"
    except PackageNotFoundError:
        return f"{PROG} (not installed as {DISTRIBUTION})"


def overview(commands: dict[str, Command]) -> str:
    width = max(map(len, commands))
    rows = [f"  {name:<{width}}  {command.help}" for name, command in commands.items()]
    return "\n".join([
        f"usage: {PROG} COMMAND [options]",
        "",
        "Deploy open LLMs served by vLLM onto serverless GPU providers, behind an",
        "OpenAI-compatible endpoint.",
        "",
        "commands:", *rows,
        "",
        f"`{PROG} COMMAND --help` shows a command's options and an example; "
        f"`{PROG} -V` the version.",
    ])


# Words other tools use for tuna's commands and options.
_HABITS = {"help": "--help", "version": "-V", "rm": "destroy", "delete": "destroy",
           "stop": "destroy", "down": "destroy", "ls": "list", "ps": "list", "up": "deploy"}


def select(argv: list[str], commands: dict[str, Command]) -> tuple[Command | None, str | None]:
    """The command to run, or (None, text to print) for `tuna --help` and `tuna -V`."""
    first = argv[0]
    if first in ("-h", "--help"):
        return None, overview(commands)
    if first in ("-V", "--version"):
        return None, version()
    if first.startswith("-"):
        raise UsageError(f"unknown option {first!r}; options follow a command "
                         f"(see `{PROG} --help`)")
    if first not in commands:
        from tuna.suggest import did_you_mean

        hint = (f" (did you mean `{PROG} {_HABITS[first]}`?)" if first in _HABITS
                else did_you_mean(first, list(commands)))
        raise UsageError(f"unknown command {first!r}{hint}"
                         f"; `{PROG} --help` lists the commands")
    return commands[first], None


def is_help(argv: list[str]) -> bool:
    return "-h" in argv or "--help" in argv
