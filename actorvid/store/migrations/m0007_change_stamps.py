"""Indexes for change stamps (``actorvid/store/stamps.py``): a list's ETag is the count and the
newest ``updated_at`` of the caller's rows, read from the index alone (``assets`` already has
``idx_assets_user_uploaded``)."""

SQL = """
CREATE INDEX idx_clients_user_updated ON clients(user_id, updated_at);
CREATE INDEX idx_campaigns_user_updated ON campaigns(user_id, updated_at);
CREATE INDEX idx_jobs_user_updated ON jobs(user_id, updated_at);
"""
