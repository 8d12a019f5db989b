"""A clip's normalised shot: the clip converted on arrival into the job's output format
(``actorvid.media.shots``), so the finish step joins shots by stream copy.

``shot_blob_id`` is written after the clip (``clip_blob_id``) and is NULL until the clip is
normalised; a row with a clip and no shot is normalised again after a restart. The delete
trigger takes the shot with the clip.
"""

SQL = """
ALTER TABLE sub_jobs ADD COLUMN shot_blob_id TEXT REFERENCES blobs(id);
DROP TRIGGER sub_jobs_delete_blobs;
CREATE TRIGGER sub_jobs_delete_blobs AFTER DELETE ON sub_jobs
BEGIN
    DELETE FROM blobs WHERE id IN (OLD.clip_blob_id, OLD.shot_blob_id);
END;
"""
