#!/usr/bin/env python3
"""The MSRV promise: no normal or build dependency of a library crate declares a
rust-version above the workspace's. (Only the stable toolchain is installed here, so the
declared versions are what can be checked.)"""
import json
import subprocess
import sys
import tomllib

with open("Cargo.toml", "rb") as f:
    msrv = tomllib.load(f)["workspace"]["package"]["rust-version"]
limit = tuple(int(x) for x in msrv.split(".")[:2])
meta = json.loads(subprocess.check_output(["cargo", "metadata", "--format-version", "1", "--quiet"]))
packages = {p["id"]: p for p in meta["packages"]}
nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}


def deps(root):
    seen, stack = set(), [root]
    while stack:
        for dep in nodes[stack.pop()]["deps"]:
            kinds = {k["kind"] for k in dep["dep_kinds"]}
            if (None in kinds or "build" in kinds) and dep["pkg"] not in seen:
                seen.add(dep["pkg"])
                stack.append(dep["pkg"])
    return seen


bad = []
for crate in ("grantline", "grantline-ureq", "grantline-reqwest", "grantline-tower"):
    root = next(i for i, p in packages.items() if p["name"] == crate)
    for dep in deps(root):
        rv = packages[dep].get("rust_version")
        if rv and tuple(int(x) for x in rv.split(".")[:2]) > limit:
            bad.append(f"{crate} -> {packages[dep]['name']} {packages[dep]['version']} needs Rust {rv}")
if bad:
    print(f"dependencies above the MSRV {msrv}:", *sorted(set(bad)), sep="\n  ")
    sys.exit(1)
print(f"every library dependency builds on Rust {msrv} (by their declared rust-version)")
