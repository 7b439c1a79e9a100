"""Prepares a fuzzing run against `relais serve --demo` (see scripts/fuzz-api.sh): reads the address and
the demo's keys from what the server printed, gives the fuzzer real things to reach (parcels announced,
one deposited, its recipient link, a courier's session), and writes the OpenAPI document cut per role:
each key is fuzzed on the operations its role may call, the public operations without a key."""

import json
import re
import sys
import time
import urllib.request
from pathlib import Path

work = Path(sys.argv[1])
out = (work / "serve.out").read_text()
base = re.search(r"serving on (http://\S+)", out).group(1)
(work / "base_url").write_text(base)


def line_value(label):
    return re.search(rf"^\s*{re.escape(label)}\s+(\S+)", out, re.M).group(1)


keys = {
    "operator": line_value("operator key"),
    "merchant": line_value("merchant key"),
    "carrier": line_value("carrier key"),
    "locker_device": line_value("locker device key"),
}
for role, key in keys.items():
    (work / f"key_{role}").write_text(key)
locker = re.search(r"locker device key \S+\s+\(point (\S+)", out).group(1)
counter = re.search(r"counter device key \S+\s+\(point (\S+)", out).group(1)


def call(method, path, key, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("Authorization", f"Bearer {key}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read() or b"null")


def announce(number, point):
    body = {
        "point_id": point,
        "parcel_number": number,
        "recipient": {"name": "Camille Martin", "phone": "+33612345678", "email": "camille@example.org"},
        "dimensions_mm": {"length": 300, "width": 200, "height": 100},
        "weight_g": 1200,
    }
    return call("POST", "/v1/parcels", keys["merchant"], body)["parcel"]["id"]


parcel = announce("FUZZ00000001", locker)
announce("FUZZ00000002", locker)
announce("FUZZ00000003", counter)
call("POST", f"/v1/parcels/{parcel}/deposit", keys["carrier"])
code = call("GET", f"/v1/points/{locker}/courier-code", keys["carrier"])["code"]
session = call("POST", f"/v1/points/{locker}/drop-off-sessions", keys["carrier"], {"courier_code": code})["id"]
# The recipient's link, as the ready message carried it: the delivery worker writes its SMS into the
# file channel beside the database (the announcement went by e-mail only).
link = None
for _ in range(100):
    for sms in sorted((work / "relais.db.messages").glob("*.sms.txt")):
        found = re.search(r"/r/(RL2\.[A-Za-z0-9_-]+)", sms.read_text())
        link = link or (found and found.group(1))
    if link:
        break
    time.sleep(0.1)
if not link:
    sys.exit("no ready message reached the SMS file channel")
me = call("GET", "/v1/me", keys["carrier"])
ids = {
    "network": me["networks"][0],
    "carrier": me["carrier_id"],
    "locker": locker,
    "counter": counter,
    "parcel": parcel,
    "session": session,
    "recipient_link": link,
}
(work / "ids.json").write_text(json.dumps(ids, indent=1))

with urllib.request.urlopen(base + "/openapi.json") as response:
    document = json.loads(response.read())
(work / "openapi.json").write_text(json.dumps(document))
for role in ["public", *keys]:
    cut = json.loads(json.dumps(document))
    for path, item in list(cut["paths"].items()):
        for method in [m for m in list(item) if m in ("get", "post", "put", "patch", "delete")]:
            security = item[method].get("security")
            roles = [r for requirement in security or [] for r in requirement.get("api_key", [])]
            keep = roles == [] if role == "public" else role in roles
            if not keep:
                del item[method]
        if not any(m in item for m in ("get", "post", "put", "patch", "delete")):
            del cut["paths"][path]
    (work / f"openapi_{role}.json").write_text(json.dumps(cut))
    print(f"{role}: {sum(len(i) for i in cut['paths'].values())} operations")
