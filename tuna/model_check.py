"""Know the model before paying: read it from the Hugging Face Hub and refuse what vLLM would only
refuse at engine start, minutes into a paid deploy (baseten-facts.md, section 7).

Every provider benefits: the host runs this before anything remote exists. huggingface_hub
honours HF_ENDPOINT (a mirror, or the tests' loopback Hub) and a locally set HF_TOKEN.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field

from tuna import vllm
from tuna.errors import TunaError, UsageError
from tuna.models import Check, DeployRequest

GIB = 2**30
# Per GPU, beyond weights and KV cache: the CUDA context, activations while vLLM profiles the
# largest batch, the sampler and (without --enforce-eager) CUDA graphs. vLLM measures the real
# figure at start; this is a deliberately round allowance, not a measurement.
RUNTIME_OVERHEAD_GIB = 2.0
CONFIG_TIMEOUT_S = 10.0  # config.json is small: a Hub slower than this is not answering
KV_CACHE_BYTES = 2  # vLLM's default KV cache dtype follows the model's: bf16 or fp16
# Methods vLLM can apply to an unquantized checkpoint while loading it; with any other, the
# checkpoint must already be quantized that way.
ONLINE_METHODS = {"fp8": 1.0, "bitsandbytes": 0.5}
# A checkpoint's quant_method and the --quantization values that load it.
COMPATIBLE = {"awq": {"awq", "awq_marlin"}, "gptq": {"gptq", "gptq_marlin"}}


class HubUnreachable(TunaError):
    """The Hub did not answer: the model is not checked, so a deploy stops (exit 1)."""


@dataclass(frozen=True)
class ModelFacts:
    """What the Hub shows of one model at one revision."""

    model: str
    revision: str
    sha: str | None
    gated: bool
    parameters: int | None  # from the Hub's safetensors metadata, shown even for gated models
    config: dict | None  # config.json; None when closed to us (gated) or absent
    closed: str | None = None  # why config.json could not be read


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes per GPU: see estimate_memory."""

    weights: float
    kv_cache: float | None  # None when config.json could not be read
    overhead: float
    available: float

    @property
    def needed(self) -> float:
        return self.weights + (self.kv_cache or 0.0) + self.overhead

    @property
    def fits(self) -> bool:
        return self.needed <= self.available

    def text(self) -> str:
        kv = f" + KV cache {self.kv_cache / GIB:.2f}" if self.kv_cache is not None else ""
        unknown = "; KV cache unknown" if self.kv_cache is None else ""
        return (f"~{self.needed / GIB:.1f} GiB per GPU (weights {self.weights / GIB:.2f}{kv} + "
                f"runtime {self.overhead / GIB:.1f}{unknown}) of {self.available / GIB:.1f} GiB")


@dataclass
class ModelReport:
    """What the check found, for the deploy summary, `tuna check` and --json."""

    model: str
    checked: dict[str, str] = field(default_factory=dict)
    not_checked: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"model": self.model, "checked": self.checked, "not_checked": self.not_checked}

    def checks(self) -> list[Check]:
        return ([Check(name, True, detail) for name, detail in self.checked.items()]
                + [Check("not checked", True, why) for why in self.not_checked])


def fetch(model: str, revision: str, timeout: float | None = None) -> ModelFacts:
    """Read the model's Hub metadata and config.json; UsageError when the model or revision
    does not exist, HubUnreachable when the Hub does not answer (within `timeout` seconds)."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import RepositoryNotFoundError, RevisionNotFoundError

    try:
        info = HfApi(endpoint=_endpoint()).model_info(model, revision=revision, timeout=timeout)
    except RevisionNotFoundError:
        raise UsageError(f"--revision: {model} has no revision {revision!r} on the Hugging Face "
                         "Hub") from None
    except RepositoryNotFoundError:
        raise UsageError(f"--model: {model} does not exist on the Hugging Face Hub (or is private "
                         f"and no HF_TOKEN here can see it){_hub_suggestion(model)}") from None
    except PermissionError as exc:  # local, not the Hub's
        raise TunaError(f"the Hugging Face cache is not writable ({exc.filename}): set HF_HOME "
                        "to a directory you can write") from None
    except Exception as exc:  # HfHubHTTPError, or the HTTP client's own transport errors
        raise HubUnreachable(f"the Hugging Face Hub did not answer ({type(exc).__name__})") from None
    safetensors = getattr(info, "safetensors", None)
    facts = dict(model=model, revision=revision, sha=info.sha, gated=bool(info.gated),
                 parameters=getattr(safetensors, "total", None))
    return ModelFacts(**facts, **_config(model, info.sha or revision, timeout))


def _endpoint() -> str | None:
    """HF_ENDPOINT as it is now (huggingface_hub reads it once, when first imported)."""
    return os.environ.get("HF_ENDPOINT", "").rstrip("/") or None


def _hub_suggestion(model: str) -> str:
    """' (did you mean X?)' from the Hub's own search among the owner's models; '' when the
    Hub has nothing close or does not answer."""
    from tuna.suggest import did_you_mean
    from huggingface_hub import HfApi

    owner, name = model.split("/", 1)
    try:
        found = [m.id for m in HfApi(endpoint=_endpoint()).list_models(
            author=owner, search=name[:4], limit=100)]
    except Exception:  # a suggestion is a courtesy: never the reason a refusal fails
        return ""
    return did_you_mean(model, found)


def _config(model: str, revision: str, timeout: float | None) -> dict:
    """config.json in one request: hf_hub_download would retry a 503 for ~23 s, then call an
    outage a missing file. {"config": ...}, or {"config": None, "closed": why}."""
    from huggingface_hub import get_session, hf_hub_url
    from huggingface_hub.errors import EntryNotFoundError, GatedRepoError
    from huggingface_hub.utils import build_hf_headers, hf_raise_for_status

    try:
        response = get_session().get(hf_hub_url(model, "config.json", revision=revision,
                                                endpoint=_endpoint()),
                                     headers=build_hf_headers(), follow_redirects=True,
                                     timeout=timeout or CONFIG_TIMEOUT_S)
        hf_raise_for_status(response)
        return {"config": response.json()}
    except GatedRepoError:
        return {"config": None, "closed": "its config.json is gated; set HF_TOKEN to a token "
                                          "with access to check it"}
    except EntryNotFoundError:
        return {"config": None, "closed": "it has no config.json"}
    except Exception as exc:  # a 5xx, or the HTTP client's transport errors
        status = getattr(getattr(exc, "response", None), "status_code", None)
        raise HubUnreachable("the Hugging Face Hub is unavailable (" + (
            f"HTTP {status}" if status else type(exc).__name__) + " for config.json)") from None


def context_limit(config: dict) -> int | None:
    """The longest --max-model-len vLLM accepts, as vLLM derives it (vllm/config: the smallest
    of the length keys, times a rope scaling's factor; yarn scales its original length)."""
    keys = ("max_position_embeddings", "n_positions", "max_seq_len", "seq_length",
            "model_max_length", "max_sequence_length", "max_seq_length", "seq_len")
    lengths = [config[key] for key in keys if isinstance(config.get(key), int)]
    if not lengths:
        return None
    limit = min(lengths)
    scaling = config.get("rope_scaling") or {}
    kind = scaling.get("rope_type") or scaling.get("type")
    if scaling and kind not in ("su", "longrope", "llama3") and "factor" in scaling:
        if kind == "yarn":
            limit = scaling.get("original_max_position_embeddings", limit)
        limit = int(limit * scaling["factor"])
    return limit


def checkpoint_quantization(config: dict | None) -> str | None:
    return ((config or {}).get("quantization_config") or {}).get("quant_method")


def bytes_per_parameter(config: dict | None, quantization: str | None) -> float:
    """vLLM loads unquantized weights as bf16 or fp16 (2 bytes); a quantized checkpoint stores
    its `bits`; fp8 and bitsandbytes can quantize while loading."""
    quant = (config or {}).get("quantization_config") or {}
    if quant.get("bits"):
        return quant["bits"] / 8
    if quant.get("quant_method") == "fp8":
        return 1.0
    if quant.get("load_in_4bit"):
        return 0.5
    return ONLINE_METHODS.get(quantization or "", 2.0)


def weights_gb(facts: ModelFacts) -> float | None:
    """The checkpoint's size on disk in GB, as stored (online quantization shrinks it only in
    GPU memory); None when the Hub shows no parameter count."""
    if not facts.parameters:
        return None
    return round(facts.parameters * bytes_per_parameter(facts.config, None) / 1e9, 2)


def estimate_memory(facts: ModelFacts, request: DeployRequest, vram_gb: float) -> MemoryEstimate:
    """Memory one GPU needs, against what vLLM may use of it:

    weights  = parameters x bytes per parameter / tp
    KV cache = 2 (K and V) x layers x ceil(KV heads / tp) x head dim x 2 bytes x max-model-len
               (one sequence of the full context: the least vLLM must fit to start)
    runtime  = RUNTIME_OVERHEAD_GIB
    has      = the GPU's memory (catalog GB, 10^9 bytes) x vLLM's --gpu-memory-utilization

    Sources: vLLM's docs on GPU memory and the KV cache (each token stores a key and a value
    vector per layer and KV head), and baseten-facts.md, section 7.
    """
    tp = request.tp_size
    weights = (facts.parameters or 0) * bytes_per_parameter(facts.config, request.quantization) / tp
    kv = None
    config = facts.config or {}
    heads = config.get("num_attention_heads")
    if config.get("num_hidden_layers") and heads:
        kv_heads = config.get("num_key_value_heads") or heads
        head_dim = config.get("head_dim") or config["hidden_size"] // heads
        kv = (2 * config["num_hidden_layers"] * math.ceil(kv_heads / tp) * head_dim
              * KV_CACHE_BYTES * request.max_model_len)
    return MemoryEstimate(weights, kv, RUNTIME_OVERHEAD_GIB * GIB,
                          vram_gb * 1e9 * vllm.gpu_memory_utilization())


def _fits(facts: ModelFacts, request: DeployRequest, vram_gb: float) -> bool:
    heads = (facts.config or {}).get("num_attention_heads")
    divides = not heads or heads % request.tp_size == 0
    return divides and estimate_memory(facts, request, vram_gb).fits


def _suggestion(facts: ModelFacts, request: DeployRequest,
                shapes: list[tuple[str, int, float, float]]) -> str:
    """The smallest --tp-size that fits on the same GPU, and the cheapest shape that fits."""
    from dataclasses import replace

    fitting = [s for s in shapes if _fits(facts, replace(request, gpu=s[0], tp_size=s[1]), s[2])]
    if not fitting:
        return "; no GPU the provider offers fits it"
    same = [s for s in fitting if s[0] == request.gpu]
    cheapest = min(fitting, key=lambda s: s[3])
    elsewhere = (f"{cheapest[1]} x {cheapest[0]} (--gpu {cheapest[0]} --tp-size {cheapest[1]}, "
                 f"${cheapest[3]:.2f}/hour per replica)")
    if not same:
        return f"; it fits on {elsewhere}"
    smallest = min(same, key=lambda s: s[1])
    here = f"; it fits with --tp-size {smallest[1]} on {smallest[0]} (${smallest[3]:.2f}/hour per replica)"
    return here if cheapest[0] == request.gpu else f"{here}, or most cheaply on {elsewhere}"


def _architecture_refusal(facts: ModelFacts, request: DeployRequest, provider: str,
                          servable: list[str], report: ModelReport) -> str | None:
    from tuna.vllm import architectures

    names = facts.config.get("architectures") or []
    if not names:
        report.not_checked.append("architecture: config.json names none")
    elif request.vllm_version is None:
        report.not_checked.append(f"architecture {'/'.join(names)}: the vLLM in a custom --image "
                                  "is unknown; add --vllm-version to check it")
    else:
        why = architectures.refusal(facts.model, names, request.vllm_version, provider, servable)
        if why:
            return why
        report.checked["architecture"] = f"{'/'.join(names)}, loaded by vLLM {request.vllm_version}"
    return None


def check(facts: ModelFacts, request: DeployRequest, vram_gb: float,
          alternatives: Callable[[], list[tuple[str, int, float, float]]],
          token_reaches_provider: bool, provider: str, servable: list[str]) -> ModelReport:
    """Refuse (UsageError, every reason at once) what cannot serve; report what was checked.
    `alternatives` lists (gpu, tp, vram_gb, price per replica-hour) the provider would accept,
    for a suggestion; `servable` the vLLM releases it can serve."""
    report = ModelReport(f"{facts.model}@{facts.sha or facts.revision}")
    problems: list[str] = []
    config = facts.config
    if facts.gated and not token_reaches_provider:
        problems.append(f"--model: {facts.model} is gated and no Hugging Face token will reach "
                        f"{provider}: pass --hf-secret NAME, a {provider} secret holding a token "
                        "with access to it")
    if config is None:
        report.not_checked.append(f"context limit, tensor parallelism, KV cache: {facts.closed}")
    else:
        problems += [why for why in [_architecture_refusal(facts, request, provider, servable,
                                                           report)] if why]
        limit = context_limit(config)
        if limit and request.max_model_len > limit:
            problems.append(f"--max-model-len {request.max_model_len} exceeds {facts.model}'s "
                            f"limit of {limit} tokens; use --max-model-len {limit}")
        elif limit:
            report.checked["context limit"] = f"{limit} tokens (asked {request.max_model_len})"
        heads = config.get("num_attention_heads")
        if heads and heads % request.tp_size:
            fine = [str(n) for n in (1, 2, 4, 8) if heads % n == 0]
            problems.append(f"--tp-size {request.tp_size} does not divide {facts.model}'s {heads} "
                            f"attention heads; use --tp-size {' or '.join(fine)}")
        elif heads:
            report.checked["attention heads"] = f"{heads}, divisible by --tp-size {request.tp_size}"
        own = checkpoint_quantization(config)
        if own and request.quantization and request.quantization not in COMPATIBLE.get(own, {own}):
            problems.append(f"--quantization {request.quantization} contradicts {facts.model}'s "
                            f"own quantization ({own}); drop --quantization or use {own}")
        report.checked["dtype"] = str(config.get("torch_dtype") or config.get("dtype") or "unknown")
    if facts.parameters is None:
        report.not_checked.append("memory: the Hub shows no parameter count")
    else:
        report.checked["parameters"] = f"{facts.parameters / 1e9:.2f} B"
        memory = estimate_memory(facts, request, vram_gb)
        if memory.fits:
            report.checked["memory"] = memory.text()
        else:
            problems.append(f"{facts.model} needs {memory.text()} on {request.tp_size} x "
                            f"{request.gpu}: it does not fit"
                            f"{_suggestion(facts, request, alternatives())}")
    if problems:
        raise UsageError("; ".join(problems))
    return report
