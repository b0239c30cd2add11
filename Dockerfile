# breakglass-drill in a container: the scheduler (`drill schedule run`) and attended drills (`drill run`).
#
# Two stages. The first builds the wheel with the command `make wheel` runs (the wheel CI installs into a
# clean venv and runs `drill demo` from, .ci/installed); the second installs that wheel with its simulator
# extra (`drill demo`, `drill sim`), so the image holds what a pip or pipx user gets and no source: the
# demo's playbook, queries and tenant are package data. Debian's Chromium (Playwright cannot download
# browsers on closed networks, and Debian patches it), a non-root user, entrypoint `drill`.
# Nothing secret is in the image: observer secrets come from the environment at run time, PINs are typed.
#
# Build:
#   docker build -t breakglass-drill .
#
# Layout inside the container (working directory /drill):
#   /drill/playbooks   playbooks, alert queries, certificates (mount read-only)
#   /drill/reports     evidence bundles and ledger.jsonl (evidence.output_dir "reports" resolves here)
#   /drill/state       DRILL_STATE_DIR: scheduler job store, sent-reminder record, workstation signing key
# The image runs as uid 10001: a bind-mounted reports folder must be writable by it (`chown 10001 reports`),
# or run with `--user "$(id -u):$(id -g)"` (any non-root uid works; nothing is written outside the mounts).
#
# The scheduler (long-running; restarts keep its jobs and never re-send a reminder; a long stop is one
# catch-up run). --init reaps Chromium's children; SIGTERM (docker stop) shuts the scheduler down cleanly.
#   docker run -d --name drill-schedule --init --restart unless-stopped \
#     -v "$PWD/playbooks:/drill/playbooks:ro" \
#     -v "$PWD/reports:/drill/reports" \
#     -v drill-state:/drill/state \
#     -e DRILL_OBSERVER_SECRET \
#     breakglass-drill schedule run /drill/playbooks/contoso.yaml
#   (`-e NAME` passes the variable the playbook's observer.client_secret_env names from your shell, value
#   unset in the image; a certificate observer reads its PEM from the mounted playbooks folder instead.)
#   docker run --rm -v "$PWD/playbooks:/drill/playbooks:ro" -v "$PWD/reports:/drill/reports" \
#     breakglass-drill schedule status /drill/playbooks/contoso.yaml
#
# An attended drill with the key passed through (find it with `ls -l /dev/hidraw*` after plugging it in;
# --group-add gives the non-root user the device's group, -it lets the operator type the PIN and see the
# touch prompt):
#   docker run --rm -it --init \
#     --device /dev/hidraw3 --group-add "$(stat -c %g /dev/hidraw3)" \
#     -v "$PWD/playbooks:/drill/playbooks:ro" \
#     -v "$PWD/reports:/drill/reports" \
#     -v drill-state:/drill/state \
#     -e DRILL_OBSERVER_SECRET \
#     breakglass-drill run /drill/playbooks/contoso.yaml --account bg-1 --operator "Alice Example"
#
# The simulator demo needs nothing mounted: docker run --rm --init breakglass-drill demo
# A playbook to start from, written into the mounted folder: docker run --rm -v "$PWD/playbooks:/drill/playbooks" \
#   --user "$(id -u):$(id -g)" breakglass-drill init /drill/playbooks/contoso

FROM python:3.11-slim-bookworm AS wheel
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY drill ./drill
RUN pip wheel --no-deps --wheel-dir /dist .

FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DRILL_STATE_DIR=/drill/state

# Chromium and fonts from Debian (security updates come with the distribution, so versions are not pinned).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends chromium fonts-liberation ca-certificates \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 drill \
    && useradd --system --uid 10001 --gid drill --create-home --home-dir /home/drill --shell /usr/sbin/nologin drill

# The package's own dependency pins (pyproject) are the versions; `[sim]` adds the embedded simulator.
COPY --from=wheel /dist /tmp/dist
# hadolint ignore=DL3013
RUN pip install "$(echo /tmp/dist/breakglass_drill-*.whl)[sim]" \
    && rm -rf /tmp/dist

WORKDIR /drill
# reports-filed: where `drill demo` files its bundle's copy (beside its --output folder, /drill/reports).
RUN mkdir -p /drill/playbooks /drill/reports /drill/reports-filed /drill/state \
    && chown drill:drill /drill/reports /drill/reports-filed /drill/state \
    && chmod 0700 /drill/state
VOLUME ["/drill/reports", "/drill/state"]

# Numeric, so Kubernetes' runAsNonRoot and the host can both check it is not root.
USER 10001:10001
ENTRYPOINT ["drill"]
CMD ["--help"]
