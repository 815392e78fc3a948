#!/usr/bin/env bash
# Prints FILE (TOML/INI; absent counts as empty) with each KEY set to VALUE in its [SECTION]: an
# key goes right under its section header (replacing the key's old line), a missing section is appended. Everything else in the file is kept as it was.
#   scripts/merge-ini.sh FILE SECTION KEY VALUE [SECTION KEY VALUE ...]
set -euo pipefail
file=$1; shift
(($# % 3 == 0 && $# > 0)) || { echo "usage: merge-ini.sh FILE SECTION KEY VALUE [...]" >&2; exit 2; }
{ [[ -e $file ]] && cat "$file"; true; } | awk -v settings="$(printf '%s\t' "$@")" '
  BEGIN {
    n = split(settings, f, "\t")
    for (i = 1; i + 2 <= n; i += 3) { sec[++count] = f[i]; key[count] = f[i + 1]; val[count] = f[i + 2] }
  }
  function flush_missing(section,   i) {
    for (i = 1; i <= count; i++) if (sec[i] == section && !set[i]) { print key[i] " = " val[i]; set[i] = 1 }
  }
  /^[ \t]*\[[^]]*\][ \t]*(#.*)?$/ {
    header = $0; sub(/^[ \t]*\[/, "", header); sub(/\].*$/, "", header); gsub(/[ \t]/, "", header)
    print; current = header; flush_missing(current); next
  }
  {
    for (i = 1; i <= count; i++) {
      # The value was printed under the header: the old line goes.
      if (sec[i] == current && match($0, "^[ \t]*" key[i] "[ \t]*=")) next
    }
    print
  }
  END {
    for (i = 1; i <= count; i++) if (!set[i]) {
      if (!(sec[i] in appended)) { print ""; print "[" sec[i] "]"; appended[sec[i]] = 1 }
      print key[i] " = " val[i]; set[i] = 1
    }
  }'
