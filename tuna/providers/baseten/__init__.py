"""Baseten: vLLM in a Truss `docker_server`, pushed with the truss CLI, run through the REST API.

`provider.BasetenProvider` is the plugin (see the `tuna.providers` entry point in pyproject.toml);
`checks` holds what is verified before a deploy, `deploy` the deploy's steps, `render` the
template, `truss_config` and `push` the truss CLI, `api` the REST client, `wait` readiness.
"""
