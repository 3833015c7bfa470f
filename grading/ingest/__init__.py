"""Turning uploaded files into the text the model grades."""
