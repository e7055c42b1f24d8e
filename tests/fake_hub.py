"""A loopback Hugging Face Hub: the model-info API and `resolve` downloads that huggingface_hub's
`HfApi().model_info` and `hf_hub_download` use, with the Hub's own error answers (an
`X-Error-Code` header of RepoNotFound, RevisionNotFound or GatedRepo). Tests point HF_ENDPOINT
at it.

The models are real public ones, with the figures their Hub pages show: config.json as published
(the fields a model check reads) and the safetensors parameter counts of the model-info API.
"""

from __future__ import annotations

import hashlib
import json
import re
from tests.loopback import JsonHandler, LoopbackServer

LLAMA3_ROPE = {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
               "original_max_position_embeddings": 8192, "rope_type": "llama3"}



def llama(parameters: int, hidden: int, intermediate: int, layers: int, heads: int) -> dict:
    """A gated Llama 3 model's Hub entry: the fields its config.json has in common."""
    return {"parameters": parameters, "gated": "manual",
            "config": {"architectures": ["LlamaForCausalLM"], "model_type": "llama",
                       "hidden_size": hidden, "intermediate_size": intermediate,
                       "num_hidden_layers": layers, "num_attention_heads": heads,
                       "num_key_value_heads": 8, "max_position_embeddings": 131072,
                       "rope_scaling": LLAMA3_ROPE, "torch_dtype": "bfloat16",
                       "vocab_size": 128256}}


MODELS: dict[str, dict] = {
    "Qwen/Qwen3-0.6B": {
        "parameters": 751_632_384, "gated": False,
        "config": {"architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3",
                   "hidden_size": 1024, "intermediate_size": 3072, "num_hidden_layers": 28,
                   "num_attention_heads": 16, "num_key_value_heads": 8, "head_dim": 128,
                   "max_position_embeddings": 40960, "rope_scaling": None,
                   "torch_dtype": "bfloat16", "tie_word_embeddings": True, "vocab_size": 151936}},
    "unsloth/Qwen3-0.6B": {  # a re-upload of the same weights
        "parameters": 751_632_384, "gated": False, "config": None},
    "Qwen/Qwen2.5-0.5B-Instruct": {
        "parameters": 494_032_768, "gated": False,
        "config": {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2",
                   "hidden_size": 896, "intermediate_size": 4864, "num_hidden_layers": 24,
                   "num_attention_heads": 14, "num_key_value_heads": 2,
                   "max_position_embeddings": 32768, "sliding_window": 32768,
                   "torch_dtype": "bfloat16", "tie_word_embeddings": True, "vocab_size": 151936}},
    "meta-llama/Llama-3.1-8B-Instruct": llama(8_030_261_248, 4096, 14336, 32, 32),
    "meta-llama/Llama-3.3-70B-Instruct": llama(70_553_706_496, 8192, 28672, 80, 64),
    "Qwen/Qwen2.5-7B-Instruct-AWQ": {
        "parameters": 1_376_663_552, "gated": False,  # int32-packed 4-bit weights count less
        "config": {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2",
                   "hidden_size": 3584, "num_hidden_layers": 28, "num_attention_heads": 28,
                   "num_key_value_heads": 4, "max_position_embeddings": 32768,
                   "torch_dtype": "float16",
                   "quantization_config": {"quant_method": "awq", "bits": 4, "group_size": 128}}},
    # Architectures that only newer vLLM releases load, and one no release knows.
    "Qwen/Qwen3.5-4B": {
        "parameters": 4_660_000_000, "gated": False,
        "config": {"architectures": ["Qwen3_5ForConditionalGeneration"], "model_type": "qwen3_5",
                   "text_config": {"num_hidden_layers": 32}, "torch_dtype": "bfloat16"}},
    "LiquidAI/LFM3-1B": {
        "parameters": 1_170_000_000, "gated": False,
        "config": {"architectures": ["Lfm3ForCausalLM"], "model_type": "lfm3",
                   "torch_dtype": "bfloat16"}},
    "acme/Mystery-1B": {
        "parameters": 1_000_000_000, "gated": False,
        "config": {"architectures": ["MysteryForCausalLM"], "model_type": "mystery",
                   "torch_dtype": "bfloat16"}},
}

MODELS["unsloth/Qwen3-0.6B"]["config"] = MODELS["Qwen/Qwen3-0.6B"]["config"]


class FakeHub(LoopbackServer):
    def __init__(self, token: str = "hf_test_token_123"):
        self.token = token
        self.models = {name: dict(spec) for name, spec in MODELS.items()}
        self.requests: list[tuple[str, str]] = []
        self.files_unavailable = False  # file downloads answer 503, as in a Hub outage
    @staticmethod
    def sha(model: str) -> str:
        return hashlib.sha1(model.encode()).hexdigest()



    def answer(self, method: str, path: str, authorized: bool) -> tuple[int, dict, bytes]:
        """(status, headers, body) as the Hub would send them."""
        path, _, query = path.partition("?")
        if path == "/api/models":  # the Hub's search: by author, name substring
            asked = dict(part.split("=", 1) for part in query.split("&") if "=" in part)
            found = [{"id": name, "modelId": name} for name in self.models
                     if name.split("/")[0] == asked.get("author", name.split("/")[0])
                     and asked.get("search", "").lower() in name.split("/")[1].lower()]
            return 200, {}, json.dumps(found).encode()
        info = re.fullmatch(r"/api/models/([^/]+/[^/]+)(?:/revision/([^/]+))?", path)
        resolve = re.fullmatch(r"/([^/]+/[^/]+)/resolve/([^/]+)/(.+)", path)
        match = info or resolve
        if not match or match.group(1) not in self.models:
            # Anonymous callers cannot tell a missing repo from a private one.
            return 401, {"X-Error-Code": "RepoNotFound",
                         "X-Error-Message": "Repository not found"}, b'{"error":"Repository not found"}'
        model, revision = match.group(1), match.group(2) or "main"
        spec, sha = self.models[model], self.sha(model)
        if revision not in ("main", sha):
            return 404, {"X-Error-Code": "RevisionNotFound",
                         "X-Error-Message": "Invalid rev id"}, b'{"error":"Invalid rev id"}'
        if info:
            return 200, {}, json.dumps({
                "id": model, "modelId": model, "sha": sha, "gated": spec["gated"],
                "private": False, "safetensors": {"parameters": {"BF16": spec["parameters"]},
                                                  "total": spec["parameters"]},
                "siblings": [{"rfilename": "config.json"}]}).encode()
        if self.files_unavailable:
            return 503, {}, b'{"error":"Service Unavailable"}'
        if resolve.group(3) != "config.json":
            return 404, {"X-Error-Code": "EntryNotFound"}, b'{"error":"Entry not found"}'
        if spec["gated"] and not authorized:
            return 401, {"X-Error-Code": "GatedRepo", "X-Error-Message": "Access to model "
                         f"{model} is restricted."}, b'{"error":"gated"}'
        body = json.dumps(spec["config"]).encode()
        return 200, {"X-Repo-Commit": sha, "ETag": f'"{sha[:32]}"'}, body


class _Handler(JsonHandler):
    server_fake: FakeHub

    def _reply(self, method: str) -> None:
        self.server_fake.requests.append((method, self.path))
        authorized = self.headers.get("Authorization") == f"Bearer {self.server_fake.token}"
        status, headers, body = self.server_fake.answer(method, self.path, authorized)
        self.reply(status, body, headers, send_body=method == "GET")

    def do_GET(self):
        self._reply("GET")

    def do_HEAD(self):
        self._reply("HEAD")


FakeHub.handler = _Handler
