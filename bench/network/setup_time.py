"""Network setup cost per container, in-process: namespace + endpoint + published port (+ DNS name on a user
network), then release. Budget: 0.015 s per container (netavark ~0.2 s, Docker ~0.07 s on this host).

    python3 bench/network/setup_time.py [--count 50]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _common import bench_manager, stats

from dockyard.network import NetworkCreate, NetworkOptions


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=50)
    args = parser.parse_args()
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import dockyard.network.manager"], capture_output=True, text=True
    )
    cumulative = [line for line in proc.stderr.splitlines() if line.rstrip().endswith("dockyard.network.manager")]
    print(f"import dockyard.network.manager: {cumulative[-1].split('|')[1].strip()} us cumulative")
    with bench_manager() as m:
        created = time.perf_counter()
        print(f"NetworkManager() + schema: {(created - t0) * 1e3:.1f} ms (includes the importtime run)")
        m.create_network(NetworkCreate("benchnet"))
        for label, network, publish in (
            ("default bridge, 1 published port", None, True),
            ("default bridge, no ports", None, False),
            ("user network + DNS name, 1 published port", "benchnet", True),
        ):
            setups, releases = [], []
            warm = os.urandom(32).hex()
            m.setup(warm, "warm", NetworkOptions.from_cli(network=network))  # bridge, table, aardvark up
            for i in range(args.count):
                cid = os.urandom(32).hex()
                opts = NetworkOptions.from_cli(network=network, publish=["8000"] if publish else [])
                t = time.perf_counter()
                m.setup(cid, f"c{i}", opts)
                t1 = time.perf_counter()
                m.release(cid)
                t2 = time.perf_counter()
                setups.append(t1 - t)
                releases.append(t2 - t1)
            m.release(warm)
            both = [a + b for a, b in zip(setups, releases, strict=True)]
            print(f"{label}:")
            print(f"  setup   {stats(setups)}")
            print(f"  release {stats(releases)}")
            print(f"  total   {stats(both)}")


if __name__ == "__main__":
    main()
