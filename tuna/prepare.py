"""Before any deploy or dry run: the GPU by its catalog name, the provider (asked for, or the
cheapest installed one that can serve the request), its offer, and every refusal, once."""

from __future__ import annotations

from dataclasses import dataclass, replace

from tuna import catalog, model_check, registry, vllm
from tuna.errors import TunaError, UsageError
from tuna.models import DeployRequest
from tuna.provider import InferenceProvider


@dataclass(frozen=True)
class Prepared:
    provider: InferenceProvider
    offer: catalog.Offer
    request: DeployRequest  # with the GPU's canonical name
    choice: str | None = None  # why tuna chose the provider, when the user did not

    def check_model(self, facts: model_check.ModelFacts, request: DeployRequest,
                    token_reaches_provider: bool) -> model_check.ModelReport:
        """The model check on this offer's GPU, suggesting the provider's shapes that fit."""
        return model_check.check(facts, request, self.offer.vram_gb,
                                 lambda: alternatives(self.provider, request),
                                 token_reaches_provider, self.provider.name,
                                 self.provider.vllm_versions())


def _refuse_unrunnable_quantization(request: DeployRequest, gpu: catalog.Gpu) -> None:
    """vLLM checks a method's name and GPU only at engine start, minutes into a paid deploy."""
    if request.quantization is None:
        return
    version = request.vllm_version or "in the custom image"
    if request.vllm_version and not vllm.quantization_name(request.quantization,
                                                           request.vllm_version):
        raise UsageError(f"--quantization {request.quantization}: vLLM {version} has no such "
                         "method; choose another method or --vllm-version")
    needs = vllm.min_compute_capability(request.quantization)
    if gpu.compute_capability < needs:
        raise UsageError(
            f"--quantization {request.quantization} needs a GPU of compute capability {needs} or "
            f"newer (vLLM {version}); {gpu.name} has {gpu.compute_capability}: choose "
            "another --gpu or method")


def _refusals(provider: InferenceProvider, offer: catalog.Offer,
              request: DeployRequest) -> list[str]:
    """Why the provider cannot serve the request on this offer: its own reasons, and a GPU
    count the offer has no instance of."""
    reasons = provider.refusals(request)
    counts = offer.counts()
    if counts is not None and request.gpu_count not in counts:
        reasons.append(f"{offer.provider} offers {offer.gpu} instances of "
                       f"{', '.join(map(str, counts))} GPUs, not {request.gpu_count}: choose "
                       "another --tp-size or --gpu")
    return reasons


def _own_options(request: DeployRequest, provider: str) -> DeployRequest:
    """The options given, all of them the chosen provider's (a flag several providers declare
    arrives under all their names); another provider's option is a usage error."""
    mine: dict[str, str] = {}
    for owners, given in request.options.items():
        if provider not in owners.split(","):
            flags = ", ".join("--" + name.replace("_", "-") for name in given)
            if owners in registry.names(registry.SPOT_GROUP):
                raise UsageError(f"{flags} sets the spot fleet of a hybrid service: it goes "
                                 "with --hybrid")
            raise UsageError(f"{flags} is an option of {owners.replace(',', ', ')}, not of "
                             f"{provider}; pass --serverless-provider {owners.split(',')[0]} "
                             "or leave it out")
        mine.update(given)
    return replace(request, options={provider: mine} if mine else {})


def prepare(request: DeployRequest, provider_name: str | None,
            need_credentials: bool = False) -> Prepared:
    """With `need_credentials` (a real deploy), choosing a provider considers only those whose
    credentials are set."""
    owners = {owner for key in request.options for owner in key.split(",")} - set(
        registry.names(registry.SPOT_GROUP))
    if provider_name is None and len(owners) == 1:
        # A provider's own option names the provider the user means.
        (provider_name,) = owners
    prepared = _prepare(request, provider_name, need_credentials)
    prepared = replace(prepared, request=_own_options(prepared.request, prepared.provider.name))
    if prepared.request.vllm_version is None and prepared.request.image is None:
        # From here on the request names the release it will be served with.
        prepared = replace(prepared, request=replace(
            prepared.request, vllm_version=prepared.provider.default_vllm_version()))
    _refuse_unrunnable_quantization(prepared.request, catalog.load().gpus[prepared.request.gpu])
    return prepared


def _prepare(request: DeployRequest, provider_name: str | None,
             need_credentials: bool) -> Prepared:
    cat = catalog.load()
    request = replace(request, gpu=cat.resolve(request.gpu))
    offers = registry.with_plugins(cat.offers_for(gpu=request.gpu))
    if provider_name:
        if registry.plugin(provider_name).group == registry.SPOT_GROUP:
            raise UsageError(f"{provider_name} runs the spot fleet of a hybrid service, not a "
                             f"serverless deployment: `tuna deploy --hybrid --serverless-provider "
                             f"{' | '.join(registry.names())}` uses it")
        provider = registry.load(provider_name)
        offer = cat.offer(request.gpu, provider.name)
        if offer is None:
            others = ", ".join(o.provider for o in offers) or "no provider"
            raise UsageError(f"{provider.name} does not offer {request.gpu} (offered by: {others})")
        reasons = _refusals(provider, offer, request)
        if reasons:
            raise UsageError("; ".join(reasons))
        return Prepared(provider, offer, request)
    installed = {p.name: p for p in registry.available()}
    refused, without_credentials = [], []
    for offer in offers:
        provider = installed.get(offer.provider)
        if provider is None:
            continue
        if need_credentials and not provider.has_credentials():
            without_credentials.append(f"{provider.name} (set {', '.join(provider.credentials)})")
            continue
        reasons = _refusals(provider, offer, request)
        if reasons:
            refused.extend(reasons)
            continue
        with_credentials = " with credentials set" if need_credentials else ""
        return Prepared(provider, offer, request, (
            f"No --serverless-provider given: using {offer.provider}, the cheapest installed "
            f"provider{with_credentials} offering {request.gpu} "
            f"(${offer.price_per_gpu_hour:.2f}/GPU-hour)"))
    reasons = refused + [f"no credentials: {p}" for p in without_credentials]
    # A missing key is exit 1 on every path, as when the provider is named; a refusal, 2.
    error = TunaError if without_credentials and not refused else UsageError
    raise error(
        f"no installed provider can serve this on {request.gpu}"
        + (f": {'; '.join(reasons)}" if reasons else f"; installed: {', '.join(installed) or 'none'}")
    )


def alternatives(provider: InferenceProvider, request: DeployRequest
                 ) -> list[tuple[str, int, float, float]]:
    """(GPU, GPUs per replica, GPU memory in GB, price per replica-hour) of every shape the
    provider offers and would accept for this request: what a refusal can suggest instead."""
    found = []
    for offer in catalog.load().offers_for(provider=provider.name):
        for tp_size in (1, 2, 4, 8):
            shape = replace(request, gpu=offer.gpu, tp_size=tp_size)
            if not _refusals(provider, offer, shape):
                found.append((offer.gpu, tp_size, offer.vram_gb, offer.replica_hourly(tp_size)))
    return found
