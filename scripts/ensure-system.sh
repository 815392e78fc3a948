#!/usr/bin/env bash
# Installs what podkit's tests, demo and benchmarks need from the system, only when it is missing.
#   scripts/ensure-system.sh test|demo|bench
# As root with apt it installs (about a minute on a fresh machine); otherwise it stops at once with one
# line naming what to install, so a missing tool never turns into a pile of failing tests.
set -euo pipefail
profile=${1:-test}

# command -> Debian package that provides it
declare -A provider=(
  [mariadbd]=mariadb-server [mariadb-install-db]=mariadb-server [mariadb]=mariadb-client
  [mariadb-slap]=mariadb-client [promtool]=prometheus [podman]=podman [runc]=runc
  [tini-static]=tini [busybox]=busybox-static [openssl]=openssl [git]=git [curl]=curl
  [wrk]=wrk [nginx]=nginx [haproxy]=haproxy [sshd]=openssh-server [ssh-keygen]=openssh-client [pgrep]=procps
  [unshare]=util-linux [catatonit]=catatonit [chromium]=chromium [redis-server]=redis-server [strace]=strace
  [unzip]=unzip
)
# catatonit: with no registry to pull a pause image from, `podman pod create` builds one from it.
# unzip: the chart tests unpack helm from the npm package that ships it (test/support/helm.ts).
# chromium: traffic-split's experiment page is tested in a real headless browser (playwright-core drives it).
case "$profile" in
  test)  needed=(mariadbd mariadb-install-db mariadb promtool podman runc tini-static busybox openssl git curl sshd ssh-keygen pgrep unshare catatonit redis-server chromium strace unzip) ;;
  demo)  needed=(openssl git curl) ;;
  bench) needed=(wrk nginx haproxy mariadbd mariadb-install-db mariadb mariadb-slap openssl git curl redis-server) ;;
  *) echo "ensure-system: unknown profile '$profile' (expected test, demo or bench)" >&2; exit 2 ;;
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

if ((${#packages[@]})); then
  if [[ $(id -u) != 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
    echo "podkit needs these Debian packages for '$profile': ${packages[*]} (run: sudo apt-get install -y ${packages[*]})" >&2
    exit 1
  fi
  echo "ensure-system: installing ${packages[*]}" >&2
  # Keep package scripts from starting system daemons (a MariaDB on :3306 would collide with the tests).
  policy=/usr/sbin/policy-rc.d
  had_policy=0; [[ -e $policy ]] && had_policy=1
  if ((!had_policy)); then printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod +x "$policy"; fi
  trap '((had_policy)) || rm -f "$policy"' EXIT
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${packages[@]}" >&2
fi

# podman on these machines: root lacks CAP_SYS_RESOURCE (default ulimits fail) and crun rejects the
# hybrid cgroup layout, so pin ulimits inside the hard limit and use runc (../shared/recipes/podman.md).
if [[ " ${needed[*]} " == *" podman "* ]]; then
  conf=/etc/containers/containers.conf
  if ! grep -qs 'runtime = "runc"' "$conf"; then
    if [[ $(id -u) != 0 ]]; then
      echo "podkit needs $conf to set runtime = \"runc\" and default_ulimits within the hard nofile limit (see docs/podman.md)" >&2
      exit 1
    fi
    mkdir -p /etc/containers
    hard=$(ulimit -Hn); [[ $hard == unlimited ]] && hard=65536
    cat >"$conf" <<CONF
[containers]
default_ulimits = ["nofile=$hard:$hard", "nproc=4096:4096"]
[engine]
runtime = "runc"
CONF
  fi
fi
exit 0
