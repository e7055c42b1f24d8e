"""SkyPilot's own client, imported only on hybrid paths (`import sky` takes 2-4 s)."""

from __future__ import annotations

import contextlib
import os
import sys

from tuna.errors import TunaError


def sky():
    """The `sky` package, quiet: no usage reports leave the machine from tuna's calls."""
    os.environ.setdefault("SKYPILOT_DISABLE_USAGE_COLLECTION", "1")
    import sky as sky_package

    return sky_package


@contextlib.contextmanager
def stdout_to_stderr():
    """SkyPilot's client prints progress (streamed request logs, upload spinners) to stdout,
    some through handles taken at import: tuna's stdout holds only tuna's output (with --json,
    one JSON document), so the file descriptor itself is pointed at stderr meanwhile."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def task_from_yaml(text: str, secrets: dict[str, str] | None = None):
    """A service task as `sky serve up` would read it, checked by SkyServe's own validation
    (the YAML schema, replica policy and spot rules); SkyPilot's words when it refuses."""
    import yaml

    sky_package = sky()
    from sky.serve import validate_service_task

    try:
        task = sky_package.Task.from_yaml_config(yaml.safe_load(text))
        validate_service_task(task, pool=False)
    except (ValueError, RuntimeError, TypeError, sky_package.exceptions.InvalidSkyPilotConfigError) as exc:
        raise TunaError(f"SkyPilot refuses the service: {' '.join(str(exc).split())}") from None
    if secrets:
        task.update_secrets(secrets)
    return task


def version() -> str:
    return sky().__version__
