"""``create_app()``: the Falcon WSGI app, wired once from settings.

It is also the ``waitress-serve --call actorvid.app:create_app`` entry point, so it takes no
required arguments: settings come from the environment (and ``.env``). Tests pass their own
settings, database, clock and id factory instead of patching.
"""

from __future__ import annotations

import atexit
import logging
import signal
import sys
import threading
from typing import Any

import falcon

from actorvid import jsonsafe, tempspace
from actorvid.accounts import Accounts
from actorvid.actors.services import RuntimeOptions
from actorvid.api import auth, campaigns, clients, errors, health, openapi
from actorvid.api.assets import add_asset_routes
from actorvid.api.binary import stream_slots
from actorvid.api.context import AppContext
from actorvid.api.debug import DebugActorsResource
from actorvid.api.jobs import add_job_routes
from actorvid.api.media_routes import add_media_routes
from actorvid.api.metrics import MetricsResource, RequestMetricsMiddleware
from actorvid.api.middleware import AuthMiddleware, RequestIdMiddleware, StreamGuardMiddleware
from actorvid.api.paths import API
from actorvid.api.previews import add_preview_routes
from actorvid.clock import Clock, IdFactory, new_uuid, utc_now
from actorvid.config import Settings, load_settings
from actorvid.ingest import AssetIngestor
from actorvid.logs import configure_logging
from actorvid.media.ffmpeg import MediaSlots
from actorvid.metrics import LimiterState, Metrics, StateSources
from actorvid.serving import install_stop_signals, quiet_queue_warnings, send_deadline
from actorvid.store import blobs, ownership
from actorvid.store.db import Database, open_database

logger = logging.getLogger(__name__)



class NotFoundSink:
    """Unknown routes answer 404 in the envelope (Falcon's default would too, but plainly)."""

    auth = "none"

    def __call__(self, req: falcon.Request, resp: falcon.Response, **kwargs: object) -> None:
        raise falcon.HTTPRouteNotFound()


def add_routes(app: falcon.App, ctx: AppContext) -> None:
    accounts = ctx.accounts
    settings = ctx.settings
    runtime = ctx.runtime
    actors_ready = (lambda: runtime.system.running) if runtime is not None else None
    app.add_route("/health", health.HealthResource(ctx.db, actors_ready))
    app.add_route("/api/auth/login", auth.LoginResource(
        accounts, max_body=settings.max_json_bytes, cookie_secure=settings.cookie_secure))
    app.add_route("/api/auth/logout", auth.LogoutResource(
        accounts, cookie_secure=settings.cookie_secure))
    app.add_route("/api/auth/api-keys", auth.ApiKeyCollection(
        accounts, max_body=settings.max_json_bytes))
    # Bounded so an id past SQLite's integer range is an unknown route, not an overflow.
    app.add_route("/api/auth/api-keys/{key_id:int(min=1, max=9223372036854775807)}",
                  auth.ApiKeyItem(accounts))

    app.add_route(f"{API}/clients", clients.ClientCollection(ctx))
    client_item = clients.ClientItem(ctx)
    app.add_route(f"{API}/clients/{{client_id}}", client_item)
    app.add_route(f"{API}/clients/{{client_id}}/stats", client_item, suffix="stats")
    app.add_route(f"{API}/clients/{{client_id}}/campaigns", client_item, suffix="campaigns")

    app.add_route(f"{API}/campaigns", campaigns.CampaignCollection(ctx))
    campaign_item = campaigns.CampaignItem(ctx)
    app.add_route(f"{API}/campaigns/{{campaign_id}}", campaign_item)
    app.add_route(f"{API}/campaigns/{{campaign_id}}/stats", campaign_item, suffix="stats")

    add_asset_routes(app, ctx)
    add_job_routes(app, ctx)
    add_media_routes(app, ctx)
    add_preview_routes(app, ctx)
    if runtime is not None:
        app.add_route(f"{API}/debug/actors", DebugActorsResource(runtime.system))
    app.add_route("/metrics", MetricsResource(app_metrics(ctx), settings.metrics_token))
    openapi.add_openapi_routes(app, ctx)


def build_app(ctx: AppContext) -> falcon.App:
    settings = ctx.settings
    streams = StreamGuardMiddleware(send_deadline(settings.send_timeout_seconds),
                                    stream_slots(settings.max_streams,
                                                 settings.max_streams_per_user))
    # The request metrics first: they time the whole request, auth and errors included.
    middleware: list[Any] = [RequestMetricsMiddleware(app_metrics(ctx)), RequestIdMiddleware(),
                             streams, AuthMiddleware(ctx.accounts,
                                                     allowed_origins=settings.cors_origins)]
    app = falcon.App(
        middleware=middleware,
        cors_enable=False,
    )
    if ctx.settings.cors_origins:
        app.add_middleware(falcon.CORSMiddleware(
            allow_origins=list(ctx.settings.cors_origins), allow_credentials=list(
                ctx.settings.cors_origins)))
    # One strict JSON reader and one NaN-proof writer for every route (actorvid/jsonsafe.py).
    json_handler = falcon.media.JSONHandler(dumps=jsonsafe.dumps_response, loads=jsonsafe.loads)
    app.req_options.media_handlers[falcon.MEDIA_JSON] = json_handler
    app.resp_options.media_handlers[falcon.MEDIA_JSON] = json_handler
    app.req_options.strip_url_path_trailing_slash = True
    app.req_options.auto_parse_qs_csv = False
    errors.install(app)
    add_routes(app, ctx)
    app.add_sink(NotFoundSink(), prefix="/")
    return app


def app_metrics(ctx: AppContext) -> Metrics:
    """The context's metrics (one registry per context, never the global one), made and
    pointed at the context's state on first use."""
    metrics = ctx.services.get("metrics")
    if metrics is None:
        metrics = ctx.services["metrics"] = Metrics()
        metrics.watch(StateSources(ctx.db, limiter=lambda: limiter_state(ctx),
                                   media_busy=lambda: media_state(ctx)))
    return metrics


def limiter_state(ctx: AppContext) -> LimiterState | None:
    limiter = ctx.runtime.system.limiter if ctx.runtime is not None else None
    if limiter is None:
        return None
    tokens, paused = limiter.state()
    return LimiterState(tokens, paused, limiter.pauses)


def media_state(ctx: AppContext) -> tuple[int, int] | None:
    slots = ctx.services.get("media_slots")
    return (slots.busy, slots.waiting) if slots is not None else None


def create_context(
    settings: Settings | None = None,
    *,
    db: Database | None = None,
    clock: Clock = utc_now,
    new_id: IdFactory = new_uuid,
    bootstrap: bool = True,
    start_actors: bool = False,
    runtime_options: RuntimeOptions | None = None,
) -> AppContext:
    """Open what the app needs: settings, database (migrated), accounts, first admin, and
    (unless ``start_actors`` is false) the providers and the actor system."""
    settings = settings or load_settings()
    owner = None
    if db is None:
        # Own the file before touching it: a second process stops here, having changed nothing.
        owner = ownership.acquire(settings.db_path)
        try:
            db = open_database(settings.db_path, read_pool_size=settings.read_pool_size)
            clean_up_after_a_stop(db)
        except BaseException:
            owner.release()
            raise
    accounts = Accounts(db, clock=clock, session_ttl=settings.session_ttl_seconds,
                        access_token_ttl=settings.access_token_ttl_seconds,
                        password_params=settings.scrypt_params)
    accounts.prune_sessions()
    if bootstrap:
        key = accounts.bootstrap_admin(settings.admin_key_file)
        if key:
            # Printed once, on purpose, outside the logs.
            print(f"actorvid: created user 'admin' with API key {key}\n"
                  f"actorvid: (also written to {settings.admin_key_file}; keep it out of "
                  "version control)", file=sys.stderr, flush=True)
    ctx = AppContext(settings=settings, db=db, accounts=accounts, clock=clock, new_id=new_id,
                     owner=owner)
    # One bound on ffmpeg children for the whole process: uploads, renders, stitches.
    slots = MediaSlots(settings.media_workers)
    # One ingestor for the asset routes and the jobs that fetch photos.
    ingestor = AssetIngestor(db, settings, new_id=new_id, clock=clock, media_slots=slots)
    ctx.services["asset_ingestor"] = ingestor
    ctx.services["media_slots"] = slots
    metrics = app_metrics(ctx)
    if start_actors:
        from actorvid.wiring import start_runtime

        ctx.runtime = start_runtime(settings, db, accounts, ingestor=ingestor, new_id=new_id,
                                    clock=clock, options=runtime_options, media_slots=slots,
                                    metrics=metrics)
    return ctx


def clean_up_after_a_stop(db: Database) -> None:
    """What a killed process can leave behind, removed by the file's new owner before serving:
    half-written blobs, whole blobs no row came to reference, and this project's temp folders
    of dead processes."""
    incomplete = blobs.delete_incomplete(db)
    unreferenced = blobs.delete_unreferenced(db)
    folders = tempspace.remove_abandoned()
    if incomplete or unreferenced or folders:
        logger.info("start-up cleanup: %d half-written blob(s), %d unreferenced blob(s), "
                    "%d temp folder(s) removed", incomplete, unreferenced, folders)


def create_app(
    settings: Settings | None = None,
    *,
    db: Database | None = None,
    clock: Clock = utc_now,
    new_id: IdFactory = new_uuid,
    bootstrap: bool = True,
    start_actors: bool = True,
) -> falcon.App:
    """Build the app. With no arguments, read settings from the environment and open the db.

    This is what ``waitress-serve --call actorvid.app:create_app`` runs. It then logs like
    ``actorvid serve`` (waitress-serve sets up no logging of its own before calling us). As no
    one else will stop the actor system, it is stopped (leaf-first) when the process exits,
    and SIGTERM ends waitress like Ctrl-C does instead of killing the process outright.
    """
    from_environment = settings is None
    settings = settings or load_settings()
    configure_logging(settings.log_level, settings.log_format)
    # waitress-serve: one queue-depth line a minute, not one per request (actorvid/serving.py).
    quiet_queue_warnings()
    try:
        ctx = create_context(settings, db=db, clock=clock, new_id=new_id, bootstrap=bootstrap,
                             start_actors=start_actors)
    except ownership.DatabaseInUse as exc:
        if not from_environment:
            raise
        # The waitress-serve entry point: nobody above to report to, so say it in one line.
        print(f"actorvid: {exc.message}", file=sys.stderr, flush=True)
        raise SystemExit(1) from None
    if ctx.runtime is not None:
        atexit.register(_close_at_exit, ctx)
        if (threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL):
            # SIGINT is waitress-serve's own (Ctrl-C); SIGUSR1 is left to the host process.
            install_stop_signals(_interrupt, signals=(signal.SIGTERM,), thread_dump=False)
    return build_app(ctx)


def _close_at_exit(ctx: AppContext) -> None:
    ctx.close()
    logger.info("actorvid stopped")


def _interrupt(signum: int, frame: object) -> None:
    # A second SIGTERM while stopping kills outright, as an impatient supervisor expects.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    logger.info("signal %s: no new requests; stopping", signum)
    raise KeyboardInterrupt  # waitress's loop lets exactly this through, then returns
