"""A Dask cluster for the engine tests: a scheduler and 2 worker processes talking over TCP on
127.0.0.1 (the network guard allows it), started once per test session."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def dask_scheduler() -> str:
    """The address of a running scheduler with 2 single-threaded worker processes."""
    distributed = pytest.importorskip("distributed", reason="dask/distributed are not installed")
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        protocol="tcp",
        dashboard_address="127.0.0.1:0",
    )
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()
