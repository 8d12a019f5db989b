"""The actor runtime: an OTP-style supervision tree on pykka.

``RootSupervisor → Coordinator → JobActor (per job) → SceneActor (per prediction)``.
Start it with :class:`actorvid.actors.runtime.ActorSystem`; the HTTP layer talks to it only
through ``system.coordinator`` (``start_job``/``approve``/``cancel``) and ``system.snapshot``.
Modules: ``supervision`` (the layer itself), ``timers`` (send_after), ``messages``, ``pipeline``
(the JobPipeline protocol), ``job``, ``scene``, ``coordinator``, ``pools``, ``snapshot``,
``runtime``.
"""
