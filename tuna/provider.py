"""The contract between the host and a provider plugin.

A provider declares what it cannot do (with a reason) so the host refuses such a request before
anything remote happens, in the manner of SkyPilot's clouds.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import TYPE_CHECKING, ClassVar, Protocol

from tuna.errors import UsageError
from tuna.models import Check, DeploymentResult, DeployRequest, LogLine, Plan, ServiceStatus

if TYPE_CHECKING:
    from tuna.state import Record


class Feature(str, Enum):
    MULTI_GPU = "several GPUs per replica (--tp-size > 1)"
    QUANTIZATION = "quantized serving (--quantization)"
    SCALE_TO_ZERO = "scaling to zero replicas (--min-replicas 0)"
    UPDATE = "updates in place (--update)"
    LOGS = "deployment logs (tuna logs)"


def features_used(request: DeployRequest) -> set[Feature]:
    used = set()
    if request.tp_size > 1:
        used.add(Feature.MULTI_GPU)
    if request.quantization:
        used.add(Feature.QUANTIZATION)
    if request.scaling.min_replicas == 0:
        used.add(Feature.SCALE_TO_ZERO)
    return used


class DeployEvents(Protocol):
    """How a provider tells the host what happens during a deploy."""

    def created(self, provider_ids: dict[str, str]) -> None:
        """Remote resources now exist under these ids: the host records them at once."""

    def progress(self, message: str) -> None:
        """A step worth telling the user about."""

    def status(self, provider_status: str, elapsed_s: float) -> None:
        """The remote status changed while waiting."""


class Provider:
    """Base class of provider plugins, registered under the `tuna.providers` entry point group."""

    name: ClassVar[str]
    # The optional extra that brings what the provider needs, and modules that prove it is there.
    extra: ClassVar[str | None] = None
    requires: ClassVar[tuple[str, ...]] = ()
    unsupported: ClassVar[Mapping[Feature, str]] = {}
    # Request fields (DeployRequest or Scaling) with the provider's upper bound and its reason.
    limits: ClassVar[Mapping[str, tuple[int, str]]] = {}

    def require(self, feature: Feature) -> None:
        """Refuse, before anything remote happens, an operation this provider cannot do."""
        if feature in self.unsupported:
            raise UsageError(f"{self.name} does not support {feature.value}: "
                             f"{self.unsupported[feature]}")

    def refusals(self, request: DeployRequest) -> list[str]:
        """Why this provider cannot serve the request; empty when it can."""
        reasons = [f"{self.name} does not support {feature.value}: {self.unsupported[feature]}"
                   for feature in sorted(features_used(request) & set(self.unsupported))]
        for name, (limit, why) in self.limits.items():
            value = getattr(request, name, None)
            if value is None:
                value = getattr(request.scaling, name)
            if value > limit:
                flag = "--" + name.replace("_", "-")
                reasons.append(f"{self.name} allows {flag} up to {limit}, got {value}: {why}")
        return reasons

    def plan(self, request: DeployRequest) -> Plan:
        """Render what would be deployed. Pure: touches nothing remote."""
        raise NotImplementedError

    def preflight(self, request: DeployRequest | None, update: Record | None = None) -> list[Check]:
        """Checks that a deploy could succeed (credentials, tools); no request: account only.
        With `update`, the deploy replaces that record's live service."""
        raise NotImplementedError

    def deploy(self, plan: Plan, events: DeployEvents, wait_timeout: float | None,
               update: Record | None = None) -> DeploymentResult:
        """Create the deployment; wait up to wait_timeout seconds for it (None: do not wait).
        With `update`, roll a new version out behind that record's endpoint."""
        raise NotImplementedError

    def logs(self, record: Record, since_ms: int) -> list[LogLine]:
        """The deployment's log lines since since_ms (epoch milliseconds), oldest first."""
        raise NotImplementedError

    def status(self, record: Record) -> ServiceStatus:
        raise NotImplementedError

    def destroy(self, record: Record) -> None:
        """Remove everything the record's deployment created; raise if it may still exist."""
        raise NotImplementedError
