"""The three video job types: what ``prepare`` does before the storyboard awaits approval."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace

from actorvid.actors.pipeline import Storyboard
from actorvid.clock import now_iso
from actorvid.domain.drafts import SelectedPair
from actorvid.domain.storyboard import Selection
from actorvid.domain.storyboard import Storyboard as Board
from actorvid.errors import ActorvidError
from actorvid.ingest import AssetSpec, UrlItem
from actorvid.pipelines.common import VideoPipeline
from actorvid.pipelines.deps import PipelineDeps, PipelineError, owner_scope
from actorvid.providers.base import (
    AssetSummary,
    SelectionRequest,
    SelectionResult,
    StoryboardRequest,
)
from actorvid.store import assets as asset_store
from actorvid.store import campaigns as campaign_store
from actorvid.store import clients as client_store
from actorvid.store import jobs as job_store
from actorvid.store.assets import Asset
from actorvid.store.jobs import Job
from actorvid.workflows import brief
from actorvid.workflows.scenes import PROPERTY_SCENE_NAMES
from actorvid.workflows.selection import check_pairs, shortfall_note, unused
from actorvid.workflows.storyboard import pairs_storyboard, render_options, standard_storyboard

logger = logging.getLogger(__name__)

MAX_CAMPAIGN_IMAGES = 1000


def _stored(deps: PipelineDeps, board: Board, *, auto_approve: bool) -> Storyboard:
    """What ``prepare`` hands the JobActor: the board (every scene with an id) as the
    document stored in ``jobs.storyboard``."""
    board = board.with_scenes(replace(s, id=s.id or deps.new_id()) for s in board.scenes)
    return Storyboard(board.to_document(), board.estimated_cost, auto_approve=auto_approve)


def _summaries(assets: Sequence[Asset]) -> list[AssetSummary]:
    return [AssetSummary(a.id, a.name, tuple(a.tags), a.width, a.height) for a in assets]


class ImagePairsPipeline(VideoPipeline):
    """A campaign's images → ordered pairs (LLM, local fallback) → one scene per pair."""

    def campaign_images(self, job: Job) -> list[Asset]:
        with self.deps.db.read() as conn:
            images, _ = asset_store.list_assets(conn, scope=owner_scope(job),
                                                limit=MAX_CAMPAIGN_IMAGES, offset=0,
                                                campaign_id=job.campaign_id, asset_type="image")
        return images

    def context(self, job: Job) -> dict[str, str]:
        context: dict[str, str] = {}
        with self.deps.db.read() as conn:
            if job.campaign_id:
                campaign = campaign_store.get_campaign(conn, job.campaign_id,
                                                       scope=owner_scope(job))
                if campaign:
                    context.update(campaign=campaign.name, goal=campaign.goal)
                    if campaign.brief:
                        context["brief"] = str(campaign.brief)[:2000]
            if job.client_id:
                client = client_store.get_client(conn, job.client_id, scope=owner_scope(job))
                if client and client.brand_guidelines:
                    context["brand"] = str(client.brand_guidelines)[:2000]
        return context

    def select(self, request: SelectionRequest, *, exclusive: bool,
               one_per_type: bool = False) -> SelectionResult:
        """Ask the configured selector; drop what breaks the rules and fill the gaps locally.

        A bad answer (invented ids, a photo twice, a missing scene) is repaired rather than
        failing a paid request; which selector decided is recorded.
        """
        known = {a.id for a in request.assets}
        notes: list[str] = []
        pairs: list[SelectedPair] = []
        provider, cost = "local", 0.0
        try:
            result = self.deps.selector.select(request)
            pairs, problems = check_pairs(result.pairs, known, exclusive=exclusive,
                                          one_per_type=one_per_type)
            notes += list(result.notes) + problems
            provider, cost = result.provider, result.cost
        except ActorvidError as exc:
            logger.warning("selection failed, using the local selector: %s", exc.message)
            notes.append(f"remote selection failed ({exc.message}); used the local selector")
        missing = request.num_pairs - len(pairs)
        free = unused(pairs, known) if exclusive else known
        if missing > 0 and len(free) >= 2:
            taken = {p.scene_type for p in pairs}
            fill = self.deps.local_selector.select(SelectionRequest(
                [a for a in request.assets if a.id in free], missing,
                scene_types=[t for t in request.scene_types if t not in taken],
                context=request.context, allow_reuse=request.allow_reuse))
            added, _ = check_pairs(fill.pairs, known, exclusive=exclusive,
                                   one_per_type=one_per_type, already=pairs)
            if added and pairs:
                notes.append(f"{len(added)} pair(s) filled by the local selector")
            elif added:
                provider = "local"
            pairs += added
        if not pairs:
            raise PipelineError("No image pairs could be selected from the campaign's images")
        return SelectionResult(pairs[:request.num_pairs], provider, notes, cost)

    def tell_user(self, job: Job, note: str) -> None:
        """Show ``note`` in the job's progress message (``jobs.progress.note``) from now on."""
        with self.deps.db.write() as conn:
            job_store.update_progress(conn, job.id, progress={**job.progress, "note": note},
                                      now=now_iso())

    def prepare(self, job: Job) -> Storyboard:
        images = self.campaign_images(job)
        if len(images) < 2:
            raise PipelineError(f"Need at least 2 image assets, but campaign has {len(images)}")
        params = job.params
        num_pairs, reuse = params.num_pairs, params.allow_reuse
        result = self.select(SelectionRequest(_summaries(images), num_pairs,
                                              context=self.context(job), allow_reuse=reuse),
                             exclusive=not reuse)
        notes = list(result.notes)
        if len(result.pairs) < num_pairs:
            note = shortfall_note(len(result.pairs), num_pairs, len(images))
            notes.append(note)
            self.tell_user(job, note)
        options = render_options(params.render, self.deps.renderer_name)
        board = pairs_storyboard(result.pairs, options, selection=Selection(
            provider=result.provider, notes=tuple(notes), cost=result.cost, allow_reuse=reuse))
        return _stored(self.deps, board, auto_approve=params.auto_approve)


class PropertyPipeline(ImagePairsPipeline):
    """Property photos → exactly 7 typed scenes, one pair each, no photo used twice."""

    def photos(self, job: Job) -> tuple[list[Asset], dict[str, str], list[str]]:
        """The request's photos as assets of the campaign (fetched safely, once)."""
        campaign_images = {a.id: a for a in self.campaign_images(job)}
        by_source = {a.source_url: a for a in campaign_images.values() if a.source_url}
        photos = job.params.photos
        known = {photo.id: campaign_images.get(photo.id) or by_source.get(photo.url)
                 for photo in photos}
        missing = [(index, photo) for index, photo in enumerate(photos)
                   if known[photo.id] is None]
        # One budget for the whole job, on the fair fetch pool (in this tenant's turn).
        fetched = self.deps.ingestor.ingest_urls([UrlItem(photo.url, AssetSpec(
            user_id=job.user_id, name=photo.filename or photo.id,
            declared_type="image", client_id=job.client_id, campaign_id=job.campaign_id,
            tags=photo.tags), loc=("body", "photos", index, "url"))
            for index, photo in missing])
        problems: list[str] = []
        for (_, photo), outcome in zip(missing, fetched, strict=True):
            if isinstance(outcome, ActorvidError):
                problems.append(f"photo {photo.id}: {outcome.message}")
            elif isinstance(outcome, BaseException):
                raise outcome
            else:
                known[photo.id] = outcome
        assets: list[Asset] = []
        mapping: dict[str, str] = {}
        for photo in photos:
            asset = known[photo.id]
            if asset is not None:
                mapping[photo.id] = asset.id
                assets.append(asset)
        return assets, mapping, problems

    def prepare(self, job: Job) -> Storyboard:
        assets, mapping, problems = self.photos(job)
        if len(assets) < 14:
            detail = "; ".join(problems[:5])
            raise PipelineError(f"Only {len(assets)} photos could be used; 14 are needed "
                                f"for 7 scenes. {detail}".strip())
        params = job.params
        request = SelectionRequest(_summaries(assets), 7, scene_types=PROPERTY_SCENE_NAMES,
                                   context=dict(params.property_info))
        result = self.select(request, exclusive=True, one_per_type=True)
        pairs = order_by_scene_type(result.pairs)
        options = render_options(params.render, self.deps.renderer_name)
        board = pairs_storyboard(pairs, options, property_video=True, selection=Selection(
            provider=result.provider, notes=tuple(result.notes + problems), cost=result.cost,
            photo_assets=mapping))
        return _stored(self.deps, board, auto_approve=params.auto_approve)


def order_by_scene_type(pairs: Sequence[SelectedPair]) -> list[SelectedPair]:
    """Scenes in the property order; a pair without a known type takes a free one."""
    by_type = {p.scene_type: p for p in pairs if p.scene_type in PROPERTY_SCENE_NAMES}
    loose = [p for p in pairs if p.scene_type not in by_type or by_type[p.scene_type] is not p]
    ordered = []
    for name in PROPERTY_SCENE_NAMES:
        pair = by_type.get(name)
        if pair is None and loose:
            loose_pair = loose.pop(0)
            pair = SelectedPair(loose_pair.first_id, loose_pair.last_id, name,
                                loose_pair.score, loose_pair.reasoning)
        if pair is not None:
            ordered.append(pair)
    return ordered


class StandardPipeline(VideoPipeline):
    """A text brief → 3–7 scenes written by an LLM (templates offline), each animating an
    image of the brief, or from its prompt alone when the brief has none."""

    def assets(self, job: Job) -> list[str]:
        request = job.params.brief or {}
        context = request.get("context") or {}
        items = (request.get("creative") or {}).get("assets") or []
        # The request fetched its URLs already (their ids are in the items); anything left,
        # e.g. a job from before that, is fetched here on one budget, in this tenant's turn.
        ids = self.deps.ingestor.brief_asset_ids(
            items, AssetSpec(user_id=job.user_id, client_id=context.get("clientId"),
                             campaign_id=context.get("campaignId")),
            scope=owner_scope(job), loc=("body", "creative", "assets"))
        for index, outcome in enumerate(ids):
            if isinstance(outcome, ActorvidError):
                # A refusal is about the user's input: say so, and do not retry it.
                raise PipelineError(f"The photo URL of creative.assets[{index}] was refused: "
                                    f"{outcome.message}")
            if isinstance(outcome, BaseException):
                raise outcome
        with self.deps.db.read() as conn:
            # No image is fine: the scenes are then made from their prompts (text-to-video).
            return [i for i in ids if isinstance(i, str)
                    and (a := asset_store.get_asset(conn, i, scope=owner_scope(job)))
                    and a.asset_type == "image"]

    def prepare(self, job: Job) -> Storyboard:
        images = self.assets(job)
        params = job.params
        written = params.brief or {}
        drafts = self.deps.writer.write(StoryboardRequest(
            brief=dict(written), target_duration=brief.target_duration(written),
            scene_count=brief.scene_count(written), asset_ids=images))
        options = render_options(brief.render_wish(written, len(drafts)),
                                 self.deps.renderer_name)
        board = replace(standard_storyboard(drafts, options, images),
                        writer=getattr(self.deps.writer, "name", ""))
        return _stored(self.deps, board, auto_approve=params.auto_approve)
