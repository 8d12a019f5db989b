"""Checking a selection against what was asked: ids that exist, no photo twice, one per type."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from actorvid.domain.drafts import SelectedPair


def check_pairs(pairs: Iterable[SelectedPair], known: set[str], *, exclusive: bool,
                one_per_type: bool = False, already: Sequence[SelectedPair] = (),
                distinct: bool = False) -> tuple[list[SelectedPair], list[str]]:
    """Keep the valid pairs (in order) and say why each other one was dropped.

    Valid: both ids are known images, first differs from last; with ``exclusive`` no image is
    used twice; with ``one_per_type`` no scene type twice (property videos) — counting
    ``already`` accepted pairs; with ``distinct`` no pair (first, last) twice. (Two image pairs
    of the same room are fine: a room is not a scene type of its own.) The one check of a
    selection: the xAI selector runs it on the model's answer, the pipelines on any selector's.
    """
    used = {i for p in already for i in (p.first_id, p.last_id)} if exclusive else set()
    types = {p.scene_type for p in already if p.scene_type}
    seen = {(p.first_id, p.last_id) for p in already}
    kept: list[SelectedPair] = []
    problems: list[str] = []
    for pair in pairs:
        ids = (pair.first_id, pair.last_id)
        if not all(i in known for i in ids):
            problems.append(f"dropped a pair naming an unknown image ({', '.join(ids)})")
        elif pair.first_id == pair.last_id:
            problems.append(f"dropped a pair using image {pair.first_id} twice")
        elif exclusive and used & set(ids):
            problems.append(f"dropped a pair reusing image {', '.join(sorted(used & set(ids)))}")
        elif distinct and ids in seen:
            problems.append(f"dropped a repeated pair ({', '.join(ids)})")
        elif one_per_type and pair.scene_type and pair.scene_type in types:
            problems.append(f"dropped a second pair for scene type {pair.scene_type}")
        else:
            kept.append(pair)
            seen.add(ids)
            if exclusive:
                used.update(ids)
            if pair.scene_type:
                types.add(pair.scene_type)
    return kept, problems


def unused(pairs: Sequence[SelectedPair], known: set[str]) -> set[str]:
    return known - {i for p in pairs for i in (p.first_id, p.last_id)}


def shortfall_note(made: int, asked: int, photos: int) -> str:
    """The sentence a marketer reads when the photos allow fewer scenes than asked."""
    return (f"The campaign's {photos} photos make {made} scene{'s' if made != 1 else ''} "
            f"without showing a photo twice, so the video has {made} of the {asked} scenes "
            "asked. Add photos to the campaign, or allow reuse (allowReuse), for more.")
