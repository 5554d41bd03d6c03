"""agentgov benchmarks (a package so workers spawned by the benchmarks import their helpers by name)."""
