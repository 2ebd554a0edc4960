"""Simulators of factories and air-quality stations for demos, tests and benchmarks."""
