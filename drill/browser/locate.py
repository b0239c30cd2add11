"""Find the Chromium the drill drives, the same way at set-up and at run time.

Order: an explicit override (playbook `browser.executable`, else env `DRILL_CHROMIUM`), Playwright's own
downloaded Chromium, the system Chromium. Set-up (`python -m drill.browser.locate --install`) may also
install Debian's `chromium` when running as root with apt-get, because `playwright install` cannot
download browsers on closed networks.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from drill.errors import DrillUserError

ENV_VAR = "DRILL_CHROMIUM"
SYSTEM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
INSTRUCTION = (
    "no Chromium found; install one (Debian/Ubuntu: `sudo apt-get install -y chromium`) "
    f"or point {ENV_VAR} / the playbook's browser.executable at a Chromium binary"
)


def _playwright_chromium() -> Path | None:
    root = Path(os.environ.get("PLAYWRIGHT_BROWSERS_PATH") or Path.home() / ".cache" / "ms-playwright")
    if not root.is_dir():
        return None
    for rel in (
        "chrome-linux/chrome",
        "chrome-linux64/chrome",
        "chrome-mac/Chromium.app/Contents/MacOS/Chromium",
    ):
        for hit in sorted(root.glob(f"chromium-*/{rel}"), reverse=True):
            if os.access(hit, os.X_OK):
                return hit
    return None


def find_chromium(override: str | None = None) -> Path:
    """Return an executable Chromium or raise DrillUserError saying how to get one."""
    explicit = override or os.environ.get(ENV_VAR)
    if explicit:
        path = Path(explicit)
        if not (path.is_file() and os.access(path, os.X_OK)):
            source = "browser.executable" if override else ENV_VAR
            raise DrillUserError(
                f"{source} points at {explicit}, which is not an executable file; fix the path"
            )
        return path
    own = _playwright_chromium()
    if own is not None:
        return own
    for candidate in SYSTEM_CANDIDATES:
        if os.access(candidate, os.X_OK):
            return Path(candidate)
    raise DrillUserError(INSTRUCTION)


def ensure_chromium() -> Path:
    """Set-up time: find a Chromium, installing Debian's package when we are root with apt-get."""
    try:
        return find_chromium()
    except DrillUserError:
        pass
    apt = shutil.which("apt-get")
    if apt and os.geteuid() == 0:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run([apt, "update", "-qq"], check=True, env=env)
        subprocess.run([apt, "install", "-y", "-qq", "chromium"], check=True, env=env)
        return find_chromium()
    raise DrillUserError(INSTRUCTION)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        path = ensure_chromium() if "--install" in args else find_chromium()
    except DrillUserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
