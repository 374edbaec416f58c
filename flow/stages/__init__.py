"""Pipeline stages, one module each, each exposing ``run(ctx) -> dict`` (see :mod:`flow.pipeline`)."""
