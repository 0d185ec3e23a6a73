"""The verification ladder: one judge, one record type, one file per level."""
