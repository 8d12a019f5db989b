"""A fake Replicate predictions API over real HTTP (falcon + waitress on loopback).

Follows ``reference/external_apis.md`` §1 and §4.1. Time is scaled: model timings, ``Prefer:
wait``, ``Cancel-After`` and output retention are in simulated seconds and multiplied by
``time_scale`` (real seconds per simulated second). State is computed lazily from elapsed time,
so a GET always sees a consistent lifecycle; only webhooks need the ticker thread.

Tests control it from Python, through :class:`FakeReplicate`'s methods (faults, outcomes,
timings, rate limits, expiry) and read its journal. The modules:

- ``fake``: :class:`FakeReplicate`, its state, control API and the prediction lifecycle;
- ``app``: the HTTP routes, the request journal and the transport faults;
- ``models``: the model registry and the input rules (what each model accepts);
- ``clips``: the output files (what each model makes);
- ``predictions``: the records (prediction, outcome, fault) and shared helpers;
- ``journal``: the counts tests assert on; ``webhooks``: signed webhook delivery.
"""

from tests.fakes.replicate.clips import png_size
from tests.fakes.replicate.fake import FakeReplicate
from tests.fakes.replicate.models import REGISTRY, cross_field_problem, validate_input
from tests.fakes.replicate.predictions import Fault, Outcome

__all__ = ["REGISTRY", "FakeReplicate", "Fault", "Outcome", "cross_field_problem", "png_size",
           "validate_input"]
