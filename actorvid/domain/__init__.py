"""The domain: value types and rules shared by every layer, with no I/O and no imports from
the rest of actorvid. ``workflows/`` (pure decisions), ``pipelines/`` (I/O), ``media/`` and
``api/`` all read these types; nothing here reads them back.
"""
