"""The committed browser bundle is exactly what js/build.sh makes from the locked packages."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
JS = ROOT / "js"
BUNDLE = ROOT / "src" / "undersigned" / "static" / "js" / "blindrsa.bundle.js"


def _need_node() -> None:
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if not missing:
        return
    reason = f"{' and '.join(missing)} not installed (apt-get install nodejs npm)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI must check the bundle")
    print(f"skipping: {reason}")
    pytest.skip(reason)


def test_it_rebuilds_the_committed_bundle_byte_for_byte(tmp_path):
    _need_node()
    work = tmp_path / "js"
    work.mkdir()
    for name in ("package.json", "package-lock.json", "build.sh"):
        shutil.copy2(JS / name, work / name)
    shutil.copytree(JS / "src", work / "src")
    out = tmp_path / "blindrsa.bundle.js"
    result = subprocess.run(
        ["sh", str(work / "build.sh"), str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "npm_config_update_notifier": "false"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert out.read_bytes() == BUNDLE.read_bytes(), (
        "src/undersigned/static/js/blindrsa.bundle.js differs from a rebuild: run sh js/build.sh"
    )


def test_it_pins_exact_versions():
    import json

    package = json.loads((JS / "package.json").read_text())
    lock = json.loads((JS / "package-lock.json").read_text())
    assert package["dependencies"]["@cloudflare/blindrsa-ts"].startswith("0.4.")
    for deps in (package["dependencies"], package["devDependencies"]):
        for name, version in deps.items():
            assert version[0].isdigit(), f"{name} is not pinned exactly: {version}"
            assert lock["packages"][f"node_modules/{name}"]["version"] == version
