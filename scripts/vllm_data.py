"""Write tuna/data/vllm/<version>.json for each vLLM version given: what that release can load and
which `vllm serve` flags it accepts, read from the release itself.

    python scripts/vllm_data.py 0.15.1 0.27.1 0.33.0 0.34.0

Architectures come from the wheel's vllm/model_executor/models/registry.py, read with `ast` (no
import, no GPU). Flags come from the release's own `vllm serve` parser, which needs vLLM imported:
the script installs the wheel without its GPU dependencies into a throwaway venv (CPU torch) and
dumps the parser's actions. The wheels are hundreds of MB, so this runs by hand and its output is
committed; the tests read the JSON.
"""

from __future__ import annotations

import argparse
import ast
import datetime
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

OUT_DIR = Path(__file__).resolve().parent.parent / "tuna" / "data" / "vllm"
REGISTRY = "vllm/model_executor/models/registry.py"
QUANTIZATION = "vllm/model_executor/layers/quantization/__init__.py"
# Not loadable by that release: retired (arch -> last version) and out-of-tree (arch -> plugin).
NOT_LOADABLE = ("_PREVIOUSLY_SUPPORTED_MODELS", "_OOT_SUPPORTED_MODELS")
# Dependencies that need a GPU or are torch's own family: the CPU torch stands in for them.
GPU_ONLY = ("torch", "torchaudio", "torchvision", "torchcodec", "xformers", "flashinfer", "triton",
            "nvidia-", "cupy", "ray", "deep-gemm", "deep_gemm", "zentorch", "vllm-flash-attn",
            "cuda-")

DUMP_PARSER = r"""
import json, sys
import vllm.platforms as platforms
if not platforms.current_platform.device_type:  # no GPU here: some releases need a platform
    from vllm.platforms.cpu import CpuPlatform
    platforms._current_platform = CpuPlatform()
try:
    from vllm.utils.argparse_utils import FlexibleArgumentParser
except ImportError:
    from vllm.utils import FlexibleArgumentParser
from vllm.entrypoints.cli.serve import ServeSubcommand
parser = FlexibleArgumentParser()
subparsers = parser.add_subparsers()
serve = ServeSubcommand().subparser_init(subparsers)
flags = {}
for action in serve._actions:
    for option in action.option_strings:
        if option.startswith("--"):
            flags[option] = {"value": action.nargs != 0,
                             "choices": sorted(map(str, action.choices)) if action.choices else None}
json.dump(flags, open(sys.argv[1], "w"))  # vLLM logs to stdout
"""


def registry_dicts(source: str) -> dict[str, ast.Dict]:
    dicts = {}
    for node in ast.parse(source).body:
        target = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
        if isinstance(target, ast.Name) and isinstance(node.value, ast.Dict):
            dicts[target.id] = node.value
    return dicts


def keys(name: str, dicts: dict[str, ast.Dict]) -> dict[str, object]:
    """A registry dict's entries, with the dicts it merges by `**name` resolved."""
    entries: dict[str, object] = {}
    for key, value in zip(dicts[name].keys, dicts[name].values):
        if key is None and isinstance(value, ast.Name):  # {**_OTHER}
            entries.update(keys(value.id, dicts))
        # A `**{k: v for k in _OTHER.items() if ...}` re-keys a subset of a dict merged anyway.
        elif isinstance(key, ast.Constant):
            entries[key.value] = value.value if isinstance(value, ast.Constant) else None
    return entries


def architectures(registry_source: str) -> tuple[list[str], dict[str, str]]:
    dicts = registry_dicts(registry_source)
    loadable = keys("_VLLM_MODELS", dicts)
    retired = {arch: str(last) for arch, last in keys(NOT_LOADABLE[0], dicts).items()}
    return sorted(loadable), dict(sorted(retired.items()))


def quantization_methods(source: str) -> list[str]:
    """QuantizationMethods' Literal names minus DEPRECATED_QUANTIZATION_METHODS."""
    names: dict[str, list[str]] = {}
    for node in ast.parse(source).body:
        target = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
        if isinstance(target, ast.Name) and node.value is not None:
            names[target.id] = [c.value for c in ast.walk(node.value)
                                if isinstance(c, ast.Constant) and isinstance(c.value, str)]
    deprecated = set(names.get("DEPRECATED_QUANTIZATION_METHODS", []))
    return sorted(set(names["QuantizationMethods"]) - deprecated)


def download(version: str, wheel_dir: Path) -> Path:
    found = sorted(wheel_dir.glob(f"vllm-{version}-*x86_64.whl"))
    if not found:
        subprocess.run([sys.executable, "-m", "pip", "download", f"vllm=={version}", "--no-deps",
                        "--only-binary", ":all:", "--platform", "manylinux_2_28_x86_64",
                        "-d", str(wheel_dir)], check=True)
        found = sorted(wheel_dir.glob(f"vllm-{version}-*x86_64.whl"))
    return found[0]


def cpu_requirements(wheel: zipfile.ZipFile, version: str) -> list[str]:
    from packaging.requirements import Requirement

    metadata = wheel.read(f"vllm-{version}.dist-info/METADATA").decode()
    wanted = []
    for line in metadata.splitlines():
        if not line.startswith("Requires-Dist:"):
            continue
        requirement = Requirement(line.split(":", 1)[1].strip())
        if requirement.marker and not requirement.marker.evaluate({"extra": ""}):
            continue
        if not requirement.name.lower().startswith(GPU_ONLY):
            wanted.append(str(requirement))
    return wanted


def serve_flags(wheel_path: Path, requirements: list[str], torch: str, venv: Path) -> dict:
    """Kept in `venv` (beside the wheels): a second run reuses it."""
    python = str(venv / "bin" / "python")
    if not venv.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [python, "-m", "pip", "install", "-q"]
        subprocess.run([*pip, torch], check=True)
        subprocess.run([*pip, "--no-deps", str(wheel_path)], check=True)
        subprocess.run([*pip, *requirements], check=True)
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run([python, "-c", DUMP_PARSER, out.name], check=True,
                       env={**os.environ, "VLLM_TARGET_DEVICE": "cpu"})
        return json.loads(Path(out.name).read_text())


def build_date(wheel: zipfile.ZipFile) -> str:
    newest = max(info.date_time for info in wheel.infolist())
    return datetime.date(*newest[:3]).isoformat()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("versions", nargs="+")
    parser.add_argument("--wheel-dir", type=Path, default=Path(tempfile.gettempdir()) / "vllm-wheels")
    parser.add_argument("--torch", default="torch==2.13.0", help="a CPU torch that pip can install")
    args = parser.parse_args()
    args.wheel_dir.mkdir(parents=True, exist_ok=True)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for version in args.versions:
        wheel_path = download(version, args.wheel_dir)
        with zipfile.ZipFile(wheel_path) as wheel:
            loadable, retired = architectures(wheel.read(REGISTRY).decode())
            methods = quantization_methods(wheel.read(QUANTIZATION).decode())
            requirements = cpu_requirements(wheel, version)
            released = build_date(wheel)
        data = {
            "version": version,
            "source": {"wheel": wheel_path.name,
                       "sha256": hashlib.sha256(wheel_path.read_bytes()).hexdigest(),
                       "built": released, "registry": REGISTRY,
                       "quantization": QUANTIZATION,
                       "flags": "vllm.entrypoints.cli.serve.ServeSubcommand parser",
                       "generated": datetime.date.today().isoformat()},
            "architectures": loadable,
            "previously_supported": retired,
            "quantization_methods": methods,
            "serve_flags": serve_flags(wheel_path, requirements, args.torch,
                                       args.wheel_dir / f"venv-{version}"),
        }
        out = OUT_DIR / f"{version}.json"
        out.write_text(json.dumps(data, indent=1, sort_keys=False) + "\n")
        print(f"{out}: {len(loadable)} architectures, {len(data['serve_flags'])} flags")


if __name__ == "__main__":
    main()
