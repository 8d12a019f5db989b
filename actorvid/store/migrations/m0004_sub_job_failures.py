"""Count failed predictions per scene, apart from create attempts (a 429 is not a failure)."""

SQL = """
ALTER TABLE sub_jobs ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;
"""
