from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fake_baseten import FakeBaseten
from tests.fake_cloudrun import FakeCloudRun
from tests.fake_hub import FakeHub
from tests.fake_modal import LIVE_APP_STATES, TOKEN_ID, TOKEN_SECRET, FakeModal
from tests.fake_runpod import FakeRunpod
from tuna.state import StateStore

ROOT = Path(__file__).resolve().parent.parent
# A key distinctive enough that finding it anywhere in output or files means it leaked.
API_KEY = "bt-test-key-7f3c9a1e5d"


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    def json(self):
        return json.loads(self.stdout)


@pytest.fixture
def fake():
    server = FakeBaseten(api_key=API_KEY).start()
    yield server
    server.stop()


@pytest.fixture
def runpod():
    server = FakeRunpod().start()
    yield server
    server.stop()


@pytest.fixture
def modal_fake():
    server = FakeModal().start()
    yield server
    server.stop()


@pytest.fixture
def cloudrun():
    server = FakeCloudRun().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def google_key(tmp_path_factory) -> dict:
    """A throwaway service-account key: google-auth signs with it, as with a real one."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return {"type": "service_account", "project_id": "tuna-test", "private_key_id": "k1",
            "private_key": pem, "client_email": "tuna@tuna-test.iam.gserviceaccount.com",
            "client_id": "1"}


@pytest.fixture
def hub():
    server = FakeHub().start()
    yield server
    server.stop()


@pytest.fixture
def state_dir(tmp_path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def tuna_env(fake, runpod, modal_fake, cloudrun, google_key, hub, state_dir,
             tmp_path) -> dict[str, str]:
    """Environment for a tuna process that talks only to the fake.

    After the test, every model a push created that still exists on the fake must be known to
    tuna's state as a live record: tuna never leaves a paid model it could not destroy."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("BASETEN_", "RUNPOD_", "MODAL_", "TUNA_", "HF_", "GOOGLE_",
                                "CLOUDSDK_", "GCLOUD_"))}
    key_file = tmp_path / "google-key.json"
    key_file.write_text(json.dumps({**google_key, "token_uri": cloudrun.url + "/token"}))
    env.update(
        HF_ENDPOINT=hub.url,  # the model check reads the loopback Hub, never the internet
        HF_HOME=str(tmp_path / "hf-home"),
        BASETEN_API_KEY=API_KEY,
        BASETEN_API_URL=fake.url,
        BASETEN_REMOTE_URL=fake.url,
        RUNPOD_API_KEY=runpod.api_key,
        RUNPOD_API_URL=runpod.url + "/v2",
        RUNPOD_SERVERLESS_URL=runpod.url + "/v2",
        MODAL_SERVER_URL=modal_fake.url,
        MODAL_TOKEN_ID=TOKEN_ID,
        MODAL_TOKEN_SECRET=TOKEN_SECRET,
        MODAL_CONFIG_PATH=str(tmp_path / "no-modal.toml"),  # never the user's profiles
        MODAL_DISABLE_API_PROXY="1",
        CLOUDRUN_API_URL=cloudrun.url,
        CLOUD_LOGGING_API_URL=cloudrun.url,
        SECRET_MANAGER_API_URL=cloudrun.url,
        GOOGLE_APPLICATION_CREDENTIALS=str(key_file),
        CLOUDSDK_CONFIG=str(tmp_path / "gcloud"),  # never the user's gcloud
        NO_GCE_CHECK="true",  # never probe the metadata server
        TUNA_STATE_DIR=str(state_dir),
        TUNA_POLL_INTERVAL="0.01",
        HOME=str(tmp_path / "home"),  # no ~/.trussrc or other user files leak in
        NO_COLOR="1",
    )
    yield env
    leftovers = {fake.models[i].name for i in fake.pushed & set(fake.models)}
    runpod_left = runpod.created & (set(runpod.templates) | set(runpod.endpoints))
    modal_left = {app.id for app in modal_fake.apps.values()
                  if app.state in LIVE_APP_STATES and not app.foreign}
    cloudrun_left = cloudrun.created & set(cloudrun.services)
    if leftovers or runpod_left or modal_left or cloudrun_left:
        live = StateStore(state_dir).list()
        names = {r.service_name for r in live}
        assert leftovers <= names, f"models tuna does not know about: {leftovers - names}"
        known = {i for r in live for i in r.provider_ids.values()}
        assert runpod_left <= known, f"RunPod resources tuna does not know about: {runpod_left - known}"
        assert modal_left <= known, f"Modal apps tuna does not know about: {modal_left - known}"
        assert cloudrun_left <= known, f"services tuna does not know about: {cloudrun_left - known}"


@pytest.fixture
def tuna(tuna_env, tmp_path):
    """Run the real `tuna` CLI in a subprocess, the way users and scripts do."""

    def run(*args: str, env: dict | None = None, timeout: float = 120) -> Run:
        done = subprocess.run([sys.executable, "-m", "tuna", *args], capture_output=True,
                              text=True, env={**tuna_env, **(env or {})}, cwd=tmp_path,
                              timeout=timeout, stdin=subprocess.DEVNULL)
        return Run(done.returncode, done.stdout, done.stderr)

    return run
