"""A reference processing system: push services and pull devices that honour deletions.

It is written as a vendor would write it, from docs/integration.md alone: it
imports nothing from FaceRights, keeps its own enrolments in its own SQLite
file, and verifies every signature itself. `make run` starts it for the demo;
the tests, the benchmarks and the soak drive it in-process.
"""
