"""Container health check for the web: GET /healthz on this container, exit 0 only on 200.

The Host header is one the app accepts (the first plain name in AAIE_ALLOWED_HOSTS), so the
check works whatever domain the site is served under.
"""

import os
import sys
import urllib.error
import urllib.request

TIMEOUT_SECONDS = 5


def main() -> int:
    names = os.environ.get("AAIE_ALLOWED_HOSTS", "localhost").split(",")
    host = next((n.strip() for n in names if n.strip() and n.strip()[0] not in ".*"), "localhost")
    port = os.environ.get("AAIE_WEB_PORT", "8000")
    request = urllib.request.Request(f"http://127.0.0.1:{port}/healthz", headers={"Host": host})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError) as error:
        print(f"unhealthy: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
