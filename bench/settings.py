"""The project's settings with the benchmarks' URLs: the baseline views are served only under these."""

from facerights.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
