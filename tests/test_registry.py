"""Provider discovery through real entry points: a third-party plugin installed on sys.path."""

from __future__ import annotations

import textwrap

import pytest

PLUGIN = '''
from tuna.models import Check, Feature
from tuna.provider import TP_SIZE, InferenceProvider, Limit, Option, Preflight


class Cloudrun(InferenceProvider):
    name = "cloudrun"
    unsupported = {{Feature.QUANTIZATION: "this plugin serves unquantized weights only",
                   Feature.LOGS: "its platform keeps no logs"}}
    limits = (Limit(TP_SIZE, range(1, 5), "four GPUs per container at most"),)
    environment = {{"CLOUDRUN_TOKEN": "the plugin's token"}}
    options = (Option("--zone", "the plugin's own zone", "ZONE", "CLOUDRUN_ZONE"),)

    def plan(self, request):
        raise AssertionError("the host must refuse before planning")

    def validate(self, plan):
        return "cloudrun's validator"

    def check_account(self):
        return [Check("plugin", True, "third-party plugin loaded")]

    def preflight(self, request, update=None):
        return Preflight(self.check_account(), request)

    def deploy(self, plan, events, wait_timeout, update=None):
        raise NotImplementedError

    def wait(self, record, events, timeout):
        raise NotImplementedError

    def status(self, record):
        raise NotImplementedError

    def find_services(self):
        return []

    def logs(self, record, since_ms):
        raise NotImplementedError

    def destroy(self, record):
        raise NotImplementedError
{extra}'''


@pytest.fixture
def plugin_path(tmp_path):
    """Write an installed distribution 'cloudrun-plugin' whose entry point registers 'cloudrun'
    (a name with catalog offers); first on the path, it overrides the built-in of that name."""

    site = tmp_path / "site"  # not the working directory, which `python -m` puts on sys.path

    def install(requires: tuple[str, ...] = (), extra: str = "") -> str:
        """`requires`: distributions its `gpu` extra needs, named in its entry point."""
        info = site / "cloudrun_plugin-1.0.dist-info"
        info.mkdir(parents=True, exist_ok=True)
        (site / "cloudrun_plugin.py").write_text(PLUGIN.format(extra=extra))
        (info / "METADATA").write_text(
            "Metadata-Version: 2.1\nName: cloudrun-plugin\nVersion: 1.0\nProvides-Extra: gpu\n"
            + "".join(f"Requires-Dist: {r}>=1.0; extra == 'gpu'\n" for r in requires)
            + "\nA plugin for tests.\n")
        (info / "entry_points.txt").write_text(textwrap.dedent(
            "[console_scripts]\ncloudrun-x = cloudrun_plugin:main\n\n"
            "[tuna.providers]\ncloudrun = cloudrun_plugin:Cloudrun [gpu]\n"))
        return str(site)

    return install


def test_third_party_plugin_is_discovered(tuna, plugin_path):
    done = tuna("check", "--provider", "cloudrun", env={"PYTHONPATH": plugin_path()})
    assert done.code == 0, done.stderr
    assert "third-party plugin loaded" in done.stdout


def test_builtin_baseten_is_an_entry_point():
    from importlib.metadata import entry_points

    (ep,) = [ep for ep in entry_points(group="tuna.providers") if ep.name == "baseten"]
    assert ep.value == "tuna.providers.baseten.provider:BasetenProvider [baseten]"


def test_missing_extra_gives_one_line_install_hint(tuna, plugin_path):
    done = tuna("check", "--provider", "cloudrun",
                env={"PYTHONPATH": plugin_path(requires=("no-such-dist-xyz",))})
    assert done.code == 1
    assert done.stderr.strip().splitlines() == [
        "tuna: error: provider 'cloudrun' needs no-such-dist-xyz, which is not installed: "
        "pip install 'cloudrun-plugin[gpu]'"]  # installed from an index: no direct_url.json
    # An extra whose requirements are installed loads (pyyaml is one of tuna's own).
    assert tuna("check", "--provider", "cloudrun",
                env={"PYTHONPATH": plugin_path(requires=("PyYAML",))}).code == 0


def test_fast_entry_point_scan_agrees_with_importlib_metadata(plugin_path):
    """registry reads dist-info files itself (importlib.metadata is slow to import): it must
    find exactly what importlib.metadata finds."""
    import subprocess
    import sys

    # importlib lists every registration; the first on the path wins, as imports do: a plugin
    # installed earlier on the path overrides a built-in of the same name.
    probe = ("import json; from importlib.metadata import entry_points; from tuna import registry; "
             "first = {}; [first.setdefault(e.name, e.value) for e in "
             "[e for g in ('tuna.providers', 'tuna.spot_providers') for e in entry_points(group=g)]]; "
             "print(json.dumps([sorted(first.items()),"
             " sorted((p.name, p.value + (' [' + ','.join(p.extras) + ']' if p.extras else ''))"
             " for p in registry.plugins().values())]))")
    import json
    import os

    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": plugin_path()}, cwd="/")
    theirs, ours = json.loads(done.stdout)
    assert [list(e) for e in theirs] == [list(e) for e in ours]
    assert dict(ours)["cloudrun"] == "cloudrun_plugin:Cloudrun [gpu]"
    assert [name for name, _ in ours] == ["baseten", "cloudrun", "modal", "runpod", "skyserve"]


def test_unknown_provider_is_usage_error(tuna):
    done = tuna("check", "--provider", "nimbus")
    assert done.code == 2
    assert "unknown provider 'nimbus'; installed providers: baseten" in done.stderr


def test_provider_names_ignore_case_and_typos_get_a_suggestion(tuna):
    done = tuna("deploy", "--model", "Qwen/Qwen3-0.6B", "--gpu", "L4", "--serverless-provider",
                "basetn", "--dry-run")
    assert done.code == 2
    assert "unknown provider 'basetn' (did you mean baseten?)" in done.stderr
    assert tuna("deploy", "--model", "Qwen/Qwen3-0.6B", "--gpu", "L4", "--serverless-provider",
                "BaseTen", "--dry-run").code == 0
    assert tuna("show-gpus", "--provider", "BASETEN", "--json").code == 0


def test_plugin_missing_a_method_fails_when_loaded_naming_it(tuna, plugin_path):
    # The same plugin without two of its methods, made as a plugin author would make it.
    broken = ("\n\nCloudrun = type('Cloudrun', (InferenceProvider,), {k: v for k, v in vars(Cloudrun)"
              ".items() if k not in ('destroy', 'status') and not k.startswith('_')})\n")
    done = tuna("check", "--provider", "cloudrun", env={"PYTHONPATH": plugin_path(extra=broken)})
    assert done.code == 1
    assert done.stderr.strip().splitlines() == [
        "tuna: error: provider plugin 'cloudrun' (cloudrun_plugin:Cloudrun) does not implement destroy, "
        "status"]


def test_the_contract_is_an_abstract_base_class():
    import inspect

    from tuna.provider import InferenceProvider
    from tuna.providers.baseten.provider import BasetenProvider

    assert inspect.isabstract(InferenceProvider)
    assert {"plan", "validate", "check_account", "preflight", "deploy", "wait", "status",
            "find_services", "logs", "destroy"} == InferenceProvider.__abstractmethods__
    assert all(getattr(InferenceProvider, m).__doc__ for m in InferenceProvider.__abstractmethods__)
    assert issubclass(BasetenProvider, InferenceProvider) and not inspect.isabstract(BasetenProvider)


def test_host_refuses_unsupported_feature_before_planning(tuna, plugin_path):
    done = tuna("deploy", "--model", "Qwen/Qwen3-0.6B", "--gpu", "L4", "--serverless-provider",
                "cloudrun", "--quantization", "awq", "--dry-run", env={"PYTHONPATH": plugin_path()})
    assert done.code == 2
    assert ("cloudrun does not support quantized serving (--quantization): this plugin serves "
            "unquantized weights only") in done.stderr
    assert done.stderr.count("\n") == 1


def test_host_refuses_past_provider_limit(tuna, plugin_path):
    done = tuna("deploy", "--model", "Qwen/Qwen3-0.6B", "--gpu", "L4", "--serverless-provider",
                "cloudrun", "--tp-size", "8", "--dry-run", env={"PYTHONPATH": plugin_path()})
    assert done.code == 2
    assert "cloudrun does not support --tp-size 8: four GPUs per container at most" in done.stderr


def test_provider_must_offer_the_gpu(tuna):
    done = tuna("deploy", "--model", "Qwen/Qwen3-0.6B", "--gpu", "L40S", "--serverless-provider",
                "baseten", "--dry-run")
    assert done.code == 2
    assert "baseten does not offer L40S (offered by: runpod, modal)" in done.stderr


def test_cheapest_installed_provider_is_chosen_and_named(tuna):
    # modal (0.59) is cheaper than baseten (0.63) for T4...
    done = tuna("deploy", "--model", "Qwen/Qwen3-0.6B", "--gpu", "T4", "--dry-run", "out")
    assert "using modal, the cheapest installed provider offering T4 ($0.59/GPU-hour)" in done.stdout
    # ...but not for a request it refuses (Modal attaches at most 4 A10s): then the next
    # cheapest that can serve it.
    done = tuna("deploy", "--model", "Qwen/Qwen3-0.6B", "--gpu", "A10G", "--tp-size", "8",
                "--dry-run", "out8")
    assert done.code == 0, done.stderr
    assert "using baseten, the cheapest installed provider offering A10G ($1.21/GPU-hour)" in \
        done.stdout


def test_host_refuses_logs_for_a_provider_without_them(tuna, plugin_path, state_dir):
    from tuna.models import DeployRequest, Record, Status
    from tuna.state import StateStore

    StateStore(state_dir).create(Record("svc", "cloudrun", Status.ACTIVE,
                                        DeployRequest("Qwen/Qwen3-0.6B", "L4", service_name="svc"),
                                        provider_ids={"app": "a1"}))
    done = tuna("logs", "--service-name", "svc", env={"PYTHONPATH": plugin_path()})
    assert done.code == 2
    assert "cloudrun does not support deployment logs (tuna logs): its platform keeps no logs" in done.stderr


def test_a_third_party_plugin_brings_its_own_deploy_options(tuna, plugin_path):
    env = {"PYTHONPATH": plugin_path()}
    shown = tuna("deploy", "--help", env=env).stdout
    assert "cloudrun options (with --serverless-provider cloudrun)" in shown
    assert "--zone ZONE" in shown and "the plugin's own zone (also $CLOUDRUN_ZONE)" in shown
    # Its option is its own: with another provider it is a usage error naming the owner.
    done = tuna("deploy", "--model", "Qwen/Qwen3-0.6B", "--gpu", "L4", "--serverless-provider",
                "baseten", "--zone", "z1", "--dry-run", "out", env=env)
    assert done.code == 2 and "--zone" in done.stderr and "cloudrun" in done.stderr
    # Without the plugin the host has no such flag.
    assert tuna("deploy", "--model", "Qwen/Qwen3-0.6B", "--gpu", "L4", "--zone", "z1").code == 2
