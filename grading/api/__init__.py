"""The REST API under /api/v1/: one view per operation, the web's permissions, uniform errors."""
