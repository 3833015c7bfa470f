"""API views by resource; each class serves one URL, each method one documented operation."""
