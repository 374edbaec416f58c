"""Pipeline stages, one module each, each exposing ``run(ctx)`` that returns its :mod:`flow.results`
class (see :mod:`flow.pipeline`)."""
