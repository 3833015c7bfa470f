"""Writes. Each service is one transaction, takes keyword arguments, and raises ApplicationError."""
