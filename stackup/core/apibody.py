"""Parts of Docker Engine API request bodies that both backends build from the model.

Pipeline position: pure, beside ``labels``; ``adapters.docker.resource_specs`` (one engine) and
``swarm.objects`` (Swarm) import it, since neither may import the other.
"""

from __future__ import annotations

from typing import Any

from stackup.core.model import Healthcheck, Network

NANO = 1_000_000_000


def network_options(network: Network) -> dict[str, Any]:
    """``create_network`` keyword arguments every driver shares: driver options, internal,
    IPv6 and the IPAM configuration (pools with subnet, range, gateway, auxiliary addresses)."""
    args: dict[str, Any] = {}
    if network.driver_opts:
        args["options"] = dict(network.driver_opts)
    if network.internal:
        args["internal"] = True
    if network.enable_ipv6:
        args["enable_ipv6"] = True
    if network.ipam is not None:
        pools = []
        for pool in network.ipam.config:
            entry: dict[str, Any] = {key: value for key, value in (
                ("Subnet", pool.subnet), ("IPRange", pool.ip_range), ("Gateway", pool.gateway))
                if value}
            if pool.aux_addresses:
                entry["AuxiliaryAddresses"] = dict(pool.aux_addresses)
            pools.append(entry)
        args["ipam"] = {"Driver": network.ipam.driver or "default", "Config": pools,
                        "Options": dict(network.ipam.options)}
    return args


def healthcheck_config(check: Healthcheck, *, start_interval: bool = True) -> dict[str, Any]:
    """Engine ``Healthcheck``: durations in nanoseconds; ``disable`` gives test ``["NONE"]``.
    ``start_interval=False`` leaves out ``StartInterval`` (the Swarm service spec)."""
    if check.disable:
        return {"Test": ["NONE"]}
    out: dict[str, Any] = {}
    if check.test:
        out["Test"] = list(check.test)
    durations = [("Interval", check.interval), ("Timeout", check.timeout),
                 ("StartPeriod", check.start_period)]
    if start_interval:
        durations.append(("StartInterval", check.start_interval))
    for key, seconds in durations:
        if seconds is not None:
            out[key] = round(seconds * NANO)
    if check.retries is not None:
        out["Retries"] = check.retries
    return out
