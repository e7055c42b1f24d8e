"""The contract between tuna's host and a provider plugin: `InferenceProvider`.

A plugin subclasses `InferenceProvider`, implements every abstract method, and registers the
class under the `tuna.providers` entry point group. It declares what it cannot do, with a reason,
so the host refuses such a request before anything remote happens (in the manner of SkyPilot's
clouds). The host gives it plain values from `tuna.models` and never a storage object.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Container, Mapping
from dataclasses import dataclass, field
from typing import ClassVar, Protocol

from tuna.errors import UsageError
from tuna.models import (Check, DeploymentResult, DeployRequest, Feature, LogLine, Plan, Record,
                         RemoteService, ServiceStatus)

__all__ = ["InferenceProvider", "Feature", "Limit", "Option", "Quantity", "Preflight",
           "DeployEvents", "RemoteService", "refusal", "require_same_location", "chat_example", "TP_SIZE", "MAX_MODEL_LEN", "QUANTIZATION", "CONCURRENCY", "MAX_REPLICAS",
           "SCALE_DOWN_DELAY"]


def chat_example(base_url: str, model: str, *headers: str, note: str = "") -> str:
    """A copy-paste chat request against an OpenAI base URL, with the provider's auth headers
    (and a line after it saying where they come from)."""
    sent = " ".join(f'-H "{header}"' for header in (*headers, "Content-Type: application/json"))
    body = f'{{"model": "{model}", "messages": [{{"role": "user", "content": "Hello"}}]}}'
    return (f"curl {base_url}/chat/completions \\\n  {sent} \\\n  -d '{body}'"
            + (f"\n({note})" if note else ""))


def require_same_location(record, here: dict[str, str], where: Callable[[dict], str]) -> None:
    """Only the record's own location may write its service off: an answer from anywhere else
    (another workspace, another API server) raises instead, naming both."""
    from tuna.errors import ProviderError

    if record.location and here != record.location:
        raise ProviderError(f"{record.service_name} lives in {where(record.location)}, but this "
                            f"client reaches {where(here)}: nothing is written off")


def refusal(provider: str, subject: str, reason: str) -> str:
    """The one wording of every refusal: what the provider cannot do, and why."""
    return f"{provider} does not support {subject}: {reason}"


@dataclass(frozen=True)
class Quantity:
    """A request value a provider may bound, named by the flag that sets it."""

    flag: str
    read: Callable[[DeployRequest], object]


TP_SIZE = Quantity("--tp-size", lambda r: r.tp_size)
MAX_MODEL_LEN = Quantity("--max-model-len", lambda r: r.max_model_len)
QUANTIZATION = Quantity("--quantization", lambda r: r.quantization)
CONCURRENCY = Quantity("--concurrency", lambda r: r.scaling.concurrency)
MAX_REPLICAS = Quantity("--max-replicas", lambda r: r.scaling.max_replicas)
SCALE_DOWN_DELAY = Quantity("--scale-down-delay", lambda r: r.scaling.scale_down_delay)


@dataclass(frozen=True)
class Limit:
    """The values of one quantity a provider accepts (on the listed GPUs; none listed: all):
    those in `allowed` (empty: any) and not in `refused`."""

    quantity: Quantity
    allowed: Container
    reason: str
    gpus: frozenset[str] = frozenset()
    refused: Container = frozenset()

    def refusal(self, provider: str, request: DeployRequest) -> str | None:
        value = self.quantity.read(request)
        accepted = (not self.allowed or value in self.allowed) and value not in self.refused
        if value is None or accepted or (self.gpus and request.gpu not in self.gpus):
            return None
        return refusal(provider, f"{self.quantity.flag} {value}"
                       + (f" on {request.gpu}" if self.gpus else ""), self.reason)


@dataclass(frozen=True)
class Option:
    """A deploy option of one provider's own (`tuna deploy --help` shows it in the provider's
    group). Its value reaches only that provider, in `request.options[provider][name]`; `env`
    also sets it."""

    flag: str  # e.g. "--network-volume"
    help: str
    metavar: str = "VALUE"
    env: str | None = None
    switch: bool = False  # a flag without a value (e.g. --public): its value is "yes" when given

    @property
    def name(self) -> str:
        return self.flag[2:].replace("-", "_")


@dataclass(frozen=True)
class Preflight:
    """What the provider found before deploying: its checks, and the request as it will serve it
    (for example with the workspace's Hugging Face secret filled in), to plan from."""

    checks: list[Check]
    request: DeployRequest
    location: dict[str, str] = field(default_factory=dict)  # where it will live: see Record
    # USD per hour of one replica as the provider's own account prices it, when it told.
    replica_price: float | None = None

    @property
    def failed(self) -> list[Check]:
        return [check for check in self.checks if not check.ok]


class DeployEvents(Protocol):
    """How a provider tells the host what happens during a deploy."""

    def created(self, provider_ids: dict[str, str]) -> None:
        """Remote resources now exist under these ids: the host records them at once."""

    def progress(self, message: str) -> None:
        """A step worth telling the user about."""

    def status(self, provider_status: str, elapsed_s: float) -> None:
        """The remote status changed while waiting."""


class InferenceProvider(abc.ABC):
    """A serverless GPU platform that serves a model with vLLM behind an OpenAI-compatible URL."""

    name: ClassVar[str]
    # What it cannot do at all, and the values it accepts, each with the reason users will read.
    unsupported: ClassVar[Mapping[Feature, str]] = {}
    limits: ClassVar[tuple[Limit, ...]] = ()
    # Environment variables it reads, with their meaning, for `--help`; those it cannot work
    # without (tuna chooses and searches only providers whose credentials are set).
    environment: ClassVar[Mapping[str, str]] = {}
    credentials: ClassVar[tuple[str, ...]] = ()
    options: ClassVar[tuple[Option, ...]] = ()  # its own deploy options

    def option(self, request: DeployRequest, name: str) -> str | None:
        """The value of one of its options: the flag's, else its environment variable's."""
        import os

        # A flag several providers declare arrives under all their names ("cloudrun,modal").
        given = next((values[name] for owners, values in request.options.items()
                      if self.name in owners.split(",") and values.get(name)), None)
        if given:
            return given
        declared = next(o for o in self.options if o.name == name)
        return os.environ.get(declared.env, "").strip() or None if declared.env else None

    def switched_on(self, request: DeployRequest, name: str) -> bool:
        """A switch option (`Option(switch=True)`): given, or its variable set to a true word."""
        return self.option(request, name) not in (None, "", "0", "no", "false")

    def vllm_image(self, version: str) -> str | None:
        """The image that serves vLLM `version` here, None if this provider cannot serve it: by
        default vllm/vllm-openai in the CUDA build data/vllm.toml names for the provider."""
        from tuna import vllm

        return vllm.openai_image(version, self.name)

    def default_vllm_version(self) -> str:
        from tuna import vllm

        return vllm.default_version()

    def vllm_versions(self) -> list[str]:
        """The tracked vLLM releases this provider can serve, oldest first."""
        from tuna import vllm

        return [version for version in vllm.tracked_versions() if self.vllm_image(version)]

    def warm_up(self) -> None:
        """Called once a deploy has chosen this provider, before its checks run: start what the
        deploy will wait on later (a CLI that takes seconds to import), creating nothing
        remote. deploy() may then use it; if it is not called, whatever was started must end by
        itself."""

    def replica_price(self, request: DeployRequest) -> float | None:
        """USD per hour of one replica as the account is charged now, if the provider tells
        (else the catalog's price stands)."""
        return None

    def client_headers(self, request: DeployRequest) -> dict[str, str] | None:
        """The headers an OpenAI client sends to this provider's endpoint for the request, with
        the key from the environment (a hybrid router calls the endpoint with them); None when
        tuna cannot give them (the endpoint then cannot be a hybrid service's leg)."""
        return None

    def has_credentials(self) -> bool:
        import os

        return all(os.environ.get(name, "").strip() for name in self.credentials)

    def require(self, feature: Feature) -> None:
        """Refuse, before anything remote happens, an operation this provider cannot do."""
        if feature in self.unsupported:
            raise UsageError(refusal(self.name, feature.value, self.unsupported[feature]))

    def refusals(self, request: DeployRequest) -> list[str]:
        """Why this provider cannot serve the request; empty when it can."""
        reasons = [refusal(self.name, feature.value, self.unsupported[feature])
                   for feature in sorted(request.features() & set(self.unsupported))]
        found = (limit.refusal(self.name, request) for limit in self.limits)
        reasons += [reason for reason in found if reason]
        if request.vllm_version and not self.vllm_image(request.vllm_version):
            reasons.append(refusal(self.name, f"vLLM {request.vllm_version}",
                                   f"it serves {', '.join(self.vllm_versions())}"))
        return reasons

    @abc.abstractmethod
    def plan(self, request: DeployRequest) -> Plan:
        """Render the files a deploy would push. Offline: no account, no network."""

    @abc.abstractmethod
    def validate(self, plan: Plan) -> str:
        """Check the rendered files with the platform's own tooling, offline; return what
        checked them (e.g. "truss 0.18.36"). Raise TunaError with the tool's words if invalid."""

    @abc.abstractmethod
    def check_account(self) -> list[Check]:
        """Is the account usable: credentials set and accepted, tools present."""

    @abc.abstractmethod
    def preflight(self, request: DeployRequest, update: Record | None = None) -> Preflight:
        """Can this request be served: the account checks plus those of the request (GPU offered,
        secrets, names free). With `update`, the deploy replaces that record's live service."""

    @abc.abstractmethod
    def deploy(self, plan: Plan, events: DeployEvents, wait_timeout: float | None,
               update: Record | None = None) -> DeploymentResult:
        """Create the deployment and report its ids through `events.created` the moment they
        exist; wait up to wait_timeout seconds for readiness (None: do not wait), raising
        StillDeploying when it passes. With `update`, roll a new version out behind that
        record's endpoint, changing nothing live until the new version serves it."""

    @abc.abstractmethod
    def wait(self, record: Record, events: DeployEvents, timeout: float) -> DeploymentResult:
        """Wait again for a deployment whose deploy stopped waiting (timeout, Ctrl-C): its
        candidate during an update. Raise StillDeploying when the timeout passes first."""

    @abc.abstractmethod
    def status(self, record: Record) -> ServiceStatus:
        """What the platform says of the record's service now, never by calling the model. Only
        the platform's word from the record's own location may say it is gone (Status.DESTROYED);
        an answer from anywhere else raises instead."""

    @abc.abstractmethod
    def find_services(self) -> list[RemoteService]:
        """Every service tuna made in the account the credentials reach, by the labels or names
        tuna gives what it creates; nothing tuna did not make."""

    @abc.abstractmethod
    def logs(self, record: Record, since_ms: int) -> list[LogLine]:
        """The deployment's log lines since since_ms (epoch milliseconds), oldest first. A
        platform without logs declares Feature.LOGS unsupported and raises here."""

    @abc.abstractmethod
    def destroy(self, record: Record) -> None:
        """Remove everything the record's service created; return only once the platform
        confirms it is gone, raise if it may still exist."""
