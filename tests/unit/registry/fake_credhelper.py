"""A fake ``docker-credential-<name>`` helper (a Python script) and the file it keeps credentials in."""

from __future__ import annotations

import json
import sys
from pathlib import Path

HELPER = r'''#!{python}
"""docker-credential-{name}: keeps credentials in a JSON file (the test's keychain) and logs each call."""
import json, os, sys
store_path = os.environ["DOCKYARD_TEST_KEYCHAIN"]
log_path = store_path + ".log"
action = sys.argv[1]
data = sys.stdin.read()
if os.environ.get("DOCKYARD_TEST_KEYCHAIN_FAIL") == action:
    print("the keychain is locked")
    sys.exit(1)
with open(log_path, "a") as log:
    log.write(json.dumps([action, data]) + "\n")
try:
    with open(store_path) as f:
        store = json.load(f)
except FileNotFoundError:
    store = {{}}
if action == "get":
    if data not in store:
        print("credentials not found in native keychain")
        sys.exit(1)
    user, secret = store[data]
    print(json.dumps({{"ServerURL": data, "Username": user, "Secret": secret}}))
elif action == "store":
    creds = json.loads(data)
    if not creds.get("ServerURL"):
        print("no credentials server URL")
        sys.exit(1)
    store[creds["ServerURL"]] = [creds["Username"], creds["Secret"]]
elif action == "erase":
    if data not in store:
        print("credentials not found in native keychain")
        sys.exit(1)
    del store[data]
elif action == "list":
    print(json.dumps({{k: v[0] for k, v in store.items()}}))
    sys.exit(0)
else:
    print("unknown action")
    sys.exit(1)
with open(store_path, "w") as f:
    json.dump(store, f)
'''


class Keychain:
    """The fake helper's storage: ``server -> (user, secret)``, plus the log of helper invocations."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> dict[str, list[str]]:
        try:
            return dict(json.loads(self.path.read_text()))
        except FileNotFoundError:
            return {}

    def write(self, data: dict[str, list[str]]) -> None:
        self.path.write_text(json.dumps(data))

    def calls(self) -> list[list[str]]:
        log = Path(str(self.path) + ".log")
        if not log.exists():
            return []
        return [json.loads(line) for line in log.read_text().splitlines()]


def install_helper(bin_dir: Path, name: str) -> Path:
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = bin_dir / f"docker-credential-{name}"
    script.write_text(HELPER.format(python=sys.executable, name=name))
    script.chmod(0o755)
    return script
