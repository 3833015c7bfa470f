"""Benchmarks: commands that measure the app on this machine (results in bench/results/)."""
