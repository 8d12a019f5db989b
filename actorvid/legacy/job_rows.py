"""Old generated videos (jobs with their storyboard scenes), sub-jobs and generated audio."""

from __future__ import annotations

import sqlite3
from typing import Any

from actorvid.legacy.rows import (
    INTERRUPTED,
    STAGE_OF,
    STATUS_MAP,
    SUB_JOB_STATUSES,
    BlobSource,
    RowImport,
    RowImporter,
    Skip,
    TargetView,
    as_float,
    as_int,
    dump_json,
    json_column,
    optional_timestamp,
    timestamp,
)
from actorvid.store import legacy as store
from actorvid.store.blobs import BlobInfo
from actorvid.store.jobs import TERMINAL_JOB_STATUSES


class JobRows(RowImporter):
    """Jobs (with their storyboard scenes), sub-jobs and generated audio."""

    def _job_owner(self, row: sqlite3.Row) -> tuple[str | None, str | None, int]:
        client_id, campaign_id, owner = self._owner_from(row)
        if owner is not None:
            return client_id, campaign_id, owner
        if self._owner_id is None:
            with self._read() as conn:
                found = None
                if conn is not None and TargetView(conn).has_table("users"):
                    if self.owner_name:
                        hit = conn.execute("SELECT id FROM users WHERE username = :name",
                                           {"name": self.owner_name}).fetchone()
                        found = int(hit[0]) if hit else None
                    else:
                        admin = store.first_admin(conn)
                        found = admin.id if admin else None
            # A dry run has inserted no users: the first admin this run would import.
            self._owner_id = found if found is not None else self._run_admin
        if self._owner_id is None:
            raise Skip("it has no client or campaign to tell its owner, and there is no "
                       + (f"user {self.owner_name!r}" if self.owner_name else "admin user")
                       + " to give it to (see --owner)")
        return client_id, campaign_id, self._owner_id

    @staticmethod
    def _status(raw: object) -> tuple[str, str, str | None]:
        """Our status and stage for an old status, and the error of an interrupted job."""
        raw_text = str(raw or "completed")
        mapped = STATUS_MAP.get(raw_text, "failed")
        stage = STAGE_OF[mapped]
        if mapped in TERMINAL_JOB_STATUSES:
            return mapped, stage, None if raw_text in STATUS_MAP or mapped != "failed" else \
                f"Unknown status {raw_text!r} in the old backend"
        return "failed", stage, INTERRUPTED.format(raw=raw_text)

    def _prepare_job(self, row: sqlite3.Row) -> RowImport:
        old_id = str(row["id"])
        parameters = json_column(row, "parameters", {})
        if not isinstance(parameters, dict):
            parameters = {"legacy": parameters}
        metadata = json_column(row, "metadata", {})
        if not isinstance(metadata, dict):
            metadata = {"value": metadata}
        storyboard_data = json_column(row, "storyboard_data")
        model_id = str(row["model_id"] or "")
        if model_id in ("image-pair-workflow", "luigi-workflow"):
            job_type = "image_pairs"
        elif "property_info" in parameters:
            job_type = "property_video"
        else:
            job_type = "standard"
        has_video = row["video_data_type"] == "blob" and (row["video_data_len"] or 0) > 0
        blobs: dict[str, BlobSource] = {}
        notes = []
        if has_video:
            video = BlobSource("generated_videos", "video_data", row["_rowid"],
                               row["video_data_len"])
            sniffed = self._sniff(video)
            if sniffed is None or sniffed.asset_type != "video":
                raise Skip("video_data is not a video")
            blobs["video"] = video
        if row["thumbnail_data_type"] == "blob" and (row["thumbnail_data_len"] or 0) > 0:
            thumb = BlobSource("generated_videos", "thumbnail_data", row["_rowid"],
                               row["thumbnail_data_len"])
            if (s := self._sniff(thumb)) and s.asset_type == "image":
                blobs["thumbnail"] = thumb
            else:
                notes.append("thumbnail_data is not an image; imported without a thumbnail")
        status, stage, interrupted = self._status(row["status"])
        if interrupted and str(row["status"]) in STATUS_MAP:
            notes.append(f"was {row['status']}: imported as failed (cannot be resumed)")
        scenes, children, scene_skips = self._scenes(row["id"], storyboard_data)
        client_id, campaign_id, user_id = self._job_owner(row)
        now = self._now()
        created = timestamp(row["created_at"], now)
        updated = timestamp(row["updated_at"], created)
        error = interrupted or row["error_message"] or (
            metadata.get("error") if status == "failed" else None)
        legacy = {k: v for k, v in (("id", row["id"]), ("modelId", model_id),
                                    ("status", row["status"]), ("prompt", row["prompt"]),
                                    ("videoUrl", row["video_url"] or metadata.get("video_url")),
                                    ("format", row["format"]), ("duration", row["duration"]),
                                    ("metadata", metadata or None)) if v not in (None, "")}
        result: dict[str, Any] = {"legacy": legacy}
        if has_video:
            result["size"] = row["video_data_len"]
        actual = as_float(row["actual_cost"]) or as_float(metadata.get("total_cost"))
        storyboard = ({"scenes": scenes, "totalDuration": round(sum(
            s["duration"] for s in scenes), 3), "currency": "USD", "source": "legacy"}
            if scenes else None)

        def insert(conn: sqlite3.Connection, infos: dict[str, BlobInfo]) -> str:
            new_id = store.insert_row(conn, "jobs", {
                "id": self._free_int_id(conn, "jobs", row["id"]), "user_id": user_id,
                "client_id": client_id, "campaign_id": campaign_id, "type": job_type,
                "status": status, "stage": stage, "parameters": dump_json(parameters),
                "storyboard": dump_json(storyboard), "progress": "{}", "result": dump_json(result),
                "video_blob_id": infos["video"].id if "video" in infos else None,
                "thumbnail_blob_id": infos["thumbnail"].id if "thumbnail" in infos else None,
                "estimated_cost": as_float(row["estimated_cost"]), "actual_cost": actual,
                "provider": "replicate" if job_type != "standard" else None, "error": error,
                "approved_at": optional_timestamp(row["approved_at"]), "created_at": created,
                "updated_at": updated, "completed_at": updated if status == "completed"
                else None})
            return str(new_id)

        for scene_id, reason in scene_skips:
            self._skip("scene", scene_id, reason)
        return RowImport("job", old_id, insert=insert, dry_id=self._dry_int("jobs", row["id"]),
                    blobs=blobs, children=children, notes=notes)

    def _scenes(self, job_id: object, storyboard_data: Any
                ) -> tuple[list[dict[str, Any]], list[tuple[str, str]], list[tuple[str, str]]]:
        """The job's storyboard scenes (``job_scenes``, else v2 ``storyboard_data``)."""
        scenes: list[dict[str, Any]] = []
        children: list[tuple[str, str]] = []
        skips: list[tuple[str, str]] = []
        for row in self.reader.rows_where("job_scenes", "job_id", job_id, "scene_number"):
            scene_id = str(row["id"])
            if ("scene", scene_id) in self.ledger:
                continue
            try:
                assets = json_column(row, "assets", [], kind=list)
                metadata = json_column(row, "metadata", {}, kind=dict)
                number = as_int(row["scene_number"])
                if number is None or number < 1:
                    raise Skip("scene_number is not a positive integer")
            except Skip as exc:
                skips.append((scene_id, str(exc)))
                continue
            scenes.append({
                "id": scene_id, "sceneNumber": number,
                "duration": as_float(row["duration_seconds"]) or 0.0,
                "description": str(row["description"] or f"Scene {number}"),
                "script": row["script"], "shotType": row["shot_type"],
                "transition": row["transition"],
                "assets": [a for a in assets if isinstance(a, str)], "metadata": metadata})
            children.append(("scene", scene_id))
        if not scenes and not skips and isinstance(storyboard_data, list):
            # v2 jobs: [{scene: {scene_number, description, duration, image_prompt},
            # image_url, generation_status, error}]; nothing of ours to keep them by id.
            for number, entry in enumerate(storyboard_data, start=1):
                scene = entry.get("scene", {}) if isinstance(entry, dict) else {}
                if not isinstance(scene, dict):
                    continue
                scenes.append({
                    "id": None, "sceneNumber": as_int(scene.get("scene_number")) or number,
                    "duration": as_float(scene.get("duration")) or 0.0,
                    "description": str(scene.get("description") or f"Scene {number}"),
                    "script": None, "shotType": None, "transition": None, "assets": [],
                    "metadata": {k: v for k, v in (
                        ("imagePrompt", scene.get("image_prompt")),
                        ("imageUrl", entry.get("image_url"))) if v}})
        return scenes, children, skips

    def _prepare_sub_job(self, row: sqlite3.Row) -> RowImport:
        sub_id = self._text_id(row, "sub_jobs")
        job_id = self._new_of("job", row["job_id"])
        if job_id is None:
            raise Skip(f"its job {row['job_id']} was not imported")
        number = as_int(row["sub_job_number"])
        if number is None or number < 1:
            raise Skip("sub_job_number is not a positive integer")
        inputs = json_column(row, "input_parameters", {})
        if not isinstance(inputs, dict):
            inputs = {"legacy": inputs}
        status = row["status"] or "pending"
        if status not in SUB_JOB_STATUSES:
            raise Skip(f"status {status!r} is not one of {', '.join(SUB_JOB_STATUSES)}")
        error = row["error_message"]
        if status in ("pending", "processing"):
            error = INTERRUPTED.format(raw=status)
            status = "failed"
        if row["video_url"]:
            inputs = {**inputs, "legacyVideoUrl": row["video_url"]}
        now = self._now()
        created = timestamp(row["created_at"], now)
        started = optional_timestamp(row["started_at"])

        def insert(conn: sqlite3.Connection, infos: dict[str, BlobInfo]) -> str:
            store.insert_row(conn, "sub_jobs", {
                "id": sub_id, "job_id": int(job_id), "scene_number": number,
                "first_asset_id": row["image1_asset_id"],
                "last_asset_id": row["image2_asset_id"],
                "prompt": str(inputs.get("prompt") or ""),
                "duration": as_float(row["duration_seconds"]) or as_float(inputs.get("duration"))
                or 0.0,
                "model": str(row["model_id"] or ""), "provider": "replicate",
                "provider_id": row["replicate_prediction_id"], "status": status,
                "attempts": (as_int(row["retry_count"]) or 0) + (1 if started else 0),
                "failures": 1 if status == "failed" else 0,
                "cost": as_float(row["actual_cost"]), "error": error, "input": dump_json(inputs),
                "started_at": started, "completed_at": optional_timestamp(row["completed_at"]),
                "created_at": created, "updated_at": timestamp(row["updated_at"], created)})
            return sub_id

        return RowImport("sub_job", sub_id, insert=insert, dry_id=lambda conn: sub_id)

    def _prepare_audio(self, row: sqlite3.Row) -> RowImport:
        old_id = str(row["id"])
        parameters = json_column(row, "parameters", {})
        metadata = json_column(row, "metadata", {})
        if not (row["audio_data_type"] == "blob" and (row["audio_data_len"] or 0) > 0):
            raise Skip("audio_data is empty: there is no audio to import")
        audio = BlobSource("generated_audio", "audio_data", row["_rowid"],
                           row["audio_data_len"])
        sniffed = self._sniff(audio)
        if sniffed is None or not (sniffed.asset_type == "audio" or sniffed.may_be_audio):
            raise Skip("audio_data is not audio")
        status, stage, interrupted = self._status(row["status"])
        client_id, campaign_id, user_id = self._job_owner(row)
        duration = as_float(row["duration"])
        now = self._now()
        created = timestamp(row["created_at"], now)
        audio_view: dict[str, Any] = {
            "status": "completed" if status == "completed" else status,
            "duration": duration, "format": sniffed.format,
            "contentType": sniffed.content_type, "provider": "legacy"}
        legacy = {k: v for k, v in (("id", row["id"]), ("modelId", row["model_id"]),
                                    ("status", row["status"]), ("audioUrl", row["audio_url"]),
                                    ("metadata", metadata or None)) if v not in (None, "")}

        def insert(conn: sqlite3.Connection, infos: dict[str, BlobInfo]) -> str:
            new_id = store.insert_row(conn, "jobs", {
                "id": self._free_int_id(conn, "jobs", row["id"]), "user_id": user_id,
                "client_id": client_id, "campaign_id": campaign_id, "type": "audio",
                "status": status, "stage": stage,
                "parameters": dump_json({"scenes": [], "model_id": row["model_id"],
                                     "prompt": row["prompt"], "legacy": parameters}),
                "storyboard": dump_json({"scenes": [], "totalDuration": duration or 0.0}),
                "progress": "{}",
                "result": dump_json({"duration": duration, "audio": audio_view,
                                 "size": infos["audio"].size, "legacy": legacy}),
                "audio_blob_id": infos["audio"].id, "error": interrupted,
                "created_at": created, "updated_at": created,
                "completed_at": created if status == "completed" else None})
            audio_view["audioUrl"] = f"/api/v3/audio/{new_id}/download"
            conn.execute("UPDATE jobs SET result = :result WHERE id = :id",
                         {"result": dump_json({"duration": duration, "audio": audio_view,
                                           "size": infos["audio"].size, "legacy": legacy}),
                          "id": new_id})
            return str(new_id)

        return RowImport("audio", old_id, insert=insert, dry_id=self._dry_int("jobs", row["id"]),
                    blobs={"audio": audio})

