# Shortcuts for the commands in README.md and BENCHMARKS.md.
.PHONY: run test bench

run:
	scripts/run

test:
	scripts/test

# The CPU benchmarks (about 10 minutes on 2 cores); results in bench/results/.
bench:
	scripts/bench
