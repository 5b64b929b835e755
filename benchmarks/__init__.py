"""Performance benchmarks (not tests): each prints a table and writes benchmarks/results/*.json."""
