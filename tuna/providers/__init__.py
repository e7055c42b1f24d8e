"""Provider plugins shipped with tuna; each registers through the `tuna.providers` entry points."""
