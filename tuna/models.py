"""What flows between the CLI, the host and the providers, validated where it enters."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from enum import Enum
from tuna.errors import InvalidValue

# Hugging Face repo ids: owner/name, letters, digits, '-', '_', '.', at most 96 characters each.
_HF_PART = r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?"
_MODEL_ID = re.compile(rf"{_HF_PART}/{_HF_PART}")
# Service names become remote resource names and URL parts: a DNS label.
_SERVICE_NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
# A git branch, tag or commit: no spaces, no leading '-', no '..'.
_REVISION = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._/-]{0,99}")
# A container image reference: registry/name:tag or name@sha256:digest.
_IMAGE = re.compile(r"[a-z0-9][a-z0-9._/-]{0,199}(?::[A-Za-z0-9_][A-Za-z0-9._-]{0,127})?"
                    r"(?:@sha256:[a-f0-9]{64})?")
# A provider-side secret name.
_SECRET = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
# A team in the provider's workspace: printable, no leading '-'.
_TEAM = re.compile(r"[^\x00-\x1f\x7f-][^\x00-\x1f\x7f]{0,99}")

MAX_GPUS = 64
MAX_MODEL_LEN = 16 * 1024 * 1024
MAX_CONCURRENCY = 1024
MAX_REPLICAS = 1000
MAX_SCALE_DOWN_DELAY_S = 86400


class ColdStartMode(str, Enum):
    FAST_BOOT = "fast_boot"  # skip CUDA graph capture: faster start, slower decoding
    NO_FAST_BOOT = "no_fast_boot"


class Status(str, Enum):
    """Lifecycle of a service in tuna's state store."""

    PENDING = "pending"  # recorded, nothing remote known to exist yet
    DEPLOYING = "deploying"
    ACTIVE = "active"  # ready to serve, possibly scaled to zero
    # Deployed and accepted, but no replica has shown that the model loads: the first request
    # starts one (a cold start), and only then would a model that cannot load show.
    COLD = "cold"
    UNHEALTHY = "unhealthy"  # running but failing health checks
    INACTIVE = "inactive"  # deactivated: serves nothing and costs nothing until reactivated
    FAILED = "failed"
    DESTROYED = "destroyed"

    @property
    def deployed(self) -> bool:
        """Deployed as asked: serving, or cold until its first request."""
        return self in (Status.ACTIVE, Status.COLD)


class Feature(str, Enum):
    """What a request may ask of a provider; a provider declares those it cannot do."""

    MULTI_GPU = "several GPUs per replica (--tp-size > 1)"
    QUANTIZATION = "quantized serving (--quantization)"
    SCALE_TO_ZERO = "scaling to zero replicas (--min-replicas 0)"
    UPDATE = "updates in place (--update)"
    LOGS = "deployment logs (tuna logs)"


def iso_time(epoch_s: float) -> str:
    """A timestamp for JSON: ISO 8601 with its zone (UTC)."""
    from datetime import datetime, timezone

    return datetime.fromtimestamp(epoch_s, timezone.utc).isoformat(timespec="seconds")



def _whole_number(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidValue(name, f"must be a whole number from {low} to {high}, got {value!r}")
    return value


def is_service_name(name: str) -> bool:
    return bool(_SERVICE_NAME.fullmatch(name))


def default_service_name(model: str) -> str:
    """A DNS-safe name derived from the model id: Qwen/Qwen3-0.6B -> qwen3-0-6b."""
    slug = re.sub(r"[^a-z0-9]+", "-", model.rsplit("/", 1)[-1].lower()).strip("-")
    return slug[:63].rstrip("-") or "model"


@dataclass(frozen=True)
class Scaling:
    concurrency: int = 32
    min_replicas: int = 0
    max_replicas: int = 1
    scale_down_delay: int = 300

    def __post_init__(self):
        _whole_number("concurrency", self.concurrency, 1, MAX_CONCURRENCY)
        _whole_number("min_replicas", self.min_replicas, 0, MAX_REPLICAS)
        _whole_number("max_replicas", self.max_replicas, 1, MAX_REPLICAS)
        _whole_number("scale_down_delay", self.scale_down_delay, 0, MAX_SCALE_DOWN_DELAY_S)
        if self.max_replicas < self.min_replicas:
            raise InvalidValue(
                "max_replicas",
                f"must be at least --min-replicas ({self.min_replicas}), got {self.max_replicas}",
            )


@dataclass(frozen=True)
class DeployRequest:
    """One model on one provider. `gpu` is a canonical catalog name (see catalog.resolve)."""

    model: str
    gpu: str
    service_name: str = ""
    tp_size: int = 1
    max_model_len: int = 4096
    cold_start_mode: ColdStartMode = ColdStartMode.FAST_BOOT
    quantization: str | None = None
    revision: str = "main"
    image: str | None = None  # None: the provider's pinned vLLM image
    # The vLLM release served (a tracked one); None before a provider is chosen, or unknown in a
    # custom image.
    vllm_version: str | None = None
    # Provider-side secret with a Hugging Face token, for gated or private models.
    hf_secret: str | None = None
    team: str | None = None  # the team of the provider's workspace to create it in
    scaling: Scaling = field(default_factory=Scaling)
    # The weights' size in GB as the model check read it from the Hub; None when not read. A
    # provider that downloads the weights onto a disk of its own sizes the disk from it.
    weights_gb: float | None = None
    # The checkpoint's own quant_method as the model check read it (None: unquantized, or not
    # read): a renamed online method must not be rendered for a checkpoint quantized that way.
    checkpoint_quantization: str | None = None
    # Options a provider declares for itself, those given: {provider: {option name: value}}.
    options: dict[str, dict[str, str]] = field(default_factory=dict)

    def __post_init__(self):
        if not isinstance(self.model, str) or not _MODEL_ID.fullmatch(self.model) or (
            ".." in self.model or "--" in self.model
        ):
            raise InvalidValue(
                "model", f"expected a Hugging Face id like Qwen/Qwen3-0.6B (owner/name), "
                f"got {self.model!r}"
            )
        if not self.service_name:
            object.__setattr__(self, "service_name", default_service_name(self.model))
        if not _SERVICE_NAME.fullmatch(self.service_name):
            raise InvalidValue(
                "service_name",
                "expected 1-63 lowercase letters, digits or '-', starting and ending with a "
                f"letter or digit, got {self.service_name!r}",
            )
        _whole_number("tp_size", self.tp_size, 1, MAX_GPUS)
        _whole_number("max_model_len", self.max_model_len, 1, MAX_MODEL_LEN)
        try:
            object.__setattr__(self, "cold_start_mode", ColdStartMode(self.cold_start_mode))
        except ValueError:
            raise InvalidValue(
                "cold_start_mode", f"expected fast_boot or no_fast_boot, got {self.cold_start_mode!r}"
            ) from None
        from tuna import vllm  # its data only where a request is made: light commands skip it

        if self.quantization is not None and self.quantization not in vllm.quantization_methods():
            raise InvalidValue(
                "quantization",
                f"expected one of vLLM's methods ({', '.join(vllm.quantization_methods())}), "
                f"got {self.quantization!r}",
            )
        if not _REVISION.fullmatch(self.revision) or ".." in self.revision:
            raise InvalidValue(
                "revision", f"expected a branch, tag or commit of the model repo, got {self.revision!r}"
            )
        if self.image is not None and not _IMAGE.fullmatch(self.image):
            raise InvalidValue(
                "image", f"expected a container image like vllm/vllm-openai:v0.15.1, got {self.image!r}"
            )
        if self.vllm_version is not None and self.vllm_version not in vllm.tracked_versions():
            raise InvalidValue("vllm_version", "expected a vLLM release tuna tracks "
                               f"({', '.join(vllm.tracked_versions())}), got {self.vllm_version!r}")
        if self.hf_secret is not None and not _SECRET.fullmatch(self.hf_secret):
            raise InvalidValue(
                "hf_secret", "expected a secret name of letters, digits, '_', '.' or '-', "
                f"got {self.hf_secret!r}"
            )
        if self.team is not None and not _TEAM.fullmatch(self.team):
            raise InvalidValue("team", f"expected a team name, got {self.team!r}")

    def features(self) -> set[Feature]:
        """The features this request uses, for the providers that cannot serve some."""
        used = set()
        if self.tp_size > 1:
            used.add(Feature.MULTI_GPU)
        if self.quantization:
            used.add(Feature.QUANTIZATION)
        if self.scaling.min_replicas == 0:
            used.add(Feature.SCALE_TO_ZERO)
        return used

    @property
    def weights(self) -> str:
        """The weights as served, for summaries: a deploy pins a branch or tag to the commit
        its model check resolved."""
        pinned = re.fullmatch(r"[0-9a-f]{40}", self.revision)
        return f"{self.model}@{self.revision}" + (
            "" if pinned else " (a deploy pins the commit its model check reads)")

    @property
    def gpu_count(self) -> int:
        """vLLM's tensor parallelism spreads one replica over this many GPUs."""
        return self.tp_size

    def to_json(self) -> dict:
        data = asdict(self)
        data["cold_start_mode"] = self.cold_start_mode.value
        return data

    @classmethod
    def from_json(cls, data: dict) -> DeployRequest:
        return cls(**{**data, "scaling": Scaling(**data["scaling"])})


@dataclass(frozen=True)
class Plan:
    """What a provider would create, rendered offline: files to push and a summary to show."""

    provider: str
    request: DeployRequest
    files: dict[str, str]  # relative path -> content
    summary: dict[str, str]

    def to_json(self) -> dict:
        return {"provider": self.provider, "service_name": self.request.service_name,
                "files": sorted(self.files), "summary": self.summary}


@dataclass(frozen=True)
class Check:
    """One preflight check; a failed one says how to fix it."""

    name: str
    ok: bool
    detail: str = ""
    fix: str = ""
    warning: bool = False  # passed, but the user should hear of it before paying

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class DeploymentResult:
    service_name: str
    provider: str
    status: Status
    provider_ids: dict[str, str]
    endpoint_url: str | None = None
    served_model_name: str | None = None
    example: str | None = None  # a copy-paste request against the endpoint
    active_replicas: int | None = None

    def to_json(self) -> dict:
        return {**service_json(self.service_name, self.provider, self.status, self.provider_ids,
                               self.endpoint_url), "served_model_name": self.served_model_name}


def service_json(service_name: str, provider: str, status: Status, provider_ids: dict[str, str],
                 endpoint_url: str | None) -> dict:
    """The fields every JSON document about a service starts with (deploy, status, list)."""
    return {"service_name": service_name, "provider": provider, "status": status.value,
            **provider_ids, "endpoint_url": endpoint_url}


@dataclass(frozen=True)
class ServiceStatus:
    """What the provider says about a deployed service right now."""

    status: Status
    provider_status: str  # the provider's own word, e.g. BUILDING or SCALED_TO_ZERO
    endpoint_url: str | None = None
    active_replicas: int | None = None  # replicas billed right now; None when unknown
    details: dict = field(default_factory=dict)
    # Ids the provider found or that changed (a push that never reported back, a promotion);
    # None removes one from the record.
    provider_ids: dict[str, str | None] = field(default_factory=dict)
    update_outcome: str | None = None  # "promoted" or "failed" once an update under way ended


@dataclass(frozen=True)
class LogLine:
    timestamp_ns: int
    message: str
    replica: str | None = None

    def to_json(self) -> dict:
        return {"timestamp": iso_time(self.timestamp_ns / 1e9), "replica": self.replica,
                "message": self.message}


@dataclass(frozen=True)
class Record:
    """What tuna knows of one service: the request, where it lives, and its last known status."""

    service_name: str
    provider: str
    status: Status
    request: DeployRequest
    provider_ids: dict[str, str] = field(default_factory=dict)
    endpoint_url: str | None = None
    error: str | None = None
    created_at: float = 0.0
    updated_at: float = 0.0
    # Where its resources live (the provider's API address and workspace): an answer from
    # anywhere else says nothing about them.
    location: dict[str, str] = field(default_factory=dict)
    id: int | None = None  # the store's; names are reused after a destroy, ids never
    # An update under way: what it will serve once the provider promotes it. `request` stays
    # what serves now, so status, burn rate and cost follow the deployment that really serves.
    candidate: DeployRequest | None = None
    parent_id: int | None = None  # a hybrid service's leg: the id of the hybrid record
    hybrid: dict | None = None  # a hybrid record's settings (tuna.hybrid.HybridSettings)

    @property
    def is_live(self) -> bool:
        """Something may exist remotely (or be about to): it must be destroyed before reuse."""
        return self.status is not Status.DESTROYED

    def to_json(self) -> dict:
        return {
            **service_json(self.service_name, self.provider, self.status, self.provider_ids,
                           self.endpoint_url),
            "model": self.request.model,
            "gpu": self.request.gpu,
            "gpu_count": self.request.gpu_count,
            "error": self.error,
            "created_at": iso_time(self.created_at),
            "updated_at": iso_time(self.updated_at),
        }


@dataclass(frozen=True)
class RemoteService:
    """A service tuna made, as the provider lists it (recognised by the labels tuna pushes)."""

    service_name: str
    provider: str
    provider_ids: dict[str, str]
    provider_status: str
    tracked: bool = False  # a live local record knows it

    def to_json(self) -> dict:
        return {"service_name": self.service_name, "provider": self.provider,
                **self.provider_ids, "provider_status": self.provider_status,
                "tracked": self.tracked}
