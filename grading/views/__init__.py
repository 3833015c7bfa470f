"""Pages, grouped by who uses them."""
