"""Reserved for the issue-17 media migration (``m0008_*``, normalised shots), which is being
written on another branch at the same time as ``m0009_previews``. Migrations must be numbered
without gaps, so this empty step stands in for it; delete this file when that migration is
merged (a database migrated with the placeholder then needs the real step applied by hand,
which only concerns development files)."""

SQL = ""
