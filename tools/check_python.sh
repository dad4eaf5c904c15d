#!/bin/sh
# Is PYTHON (default: python3) recent enough for enttag? Silent and 0 when it is; else one
# line, "enttag needs Python >=3.11; python3 is 3.10.12", and 1.
#
#   sh tools/check_python.sh [PYTHON]
#
# The bound is stated once, as requires-python in pyproject.toml (its ">=X.Y" part). This is
# POSIX sh and sed, not Python: it must run, and say so plainly, where python3 is too old to
# read TOML (tomllib is 3.11+) or to run enttag's code at all. `make setup` calls it first.
python=${1:-python3}
pyproject="$(dirname "$0")/../pyproject.toml"
need=$(sed -n 's/^requires-python *= *["'\'']\([^"'\'']*\)["'\''].*/\1/p' "$pyproject" |
  sed -n 's/.*>= *\([0-9][0-9]*\(\.[0-9][0-9]*\)*\).*/\1/p')
if [ -z "$need" ]; then
  echo "enttag: no \">=X.Y\" requires-python in $pyproject" >&2
  exit 1
fi
have=$("$python" -c 'import sys; print("%d.%d.%d" % tuple(sys.version_info[:3]))' 2>/dev/null)
case $have in
  [0-9]*.[0-9]*) ;;
  *) echo "enttag needs Python >=$need; $python is missing or does not run" >&2; exit 1 ;;
esac
older=$(awk -v have="$have" -v need="$need" 'BEGIN {
  n = split(need, b, "."); split(have, a, ".")
  for (i = 1; i <= n; i++) {
    if (a[i] + 0 < b[i] + 0) { print "yes"; exit }
    if (a[i] + 0 > b[i] + 0) exit
  }
}')
if [ -n "$older" ]; then
  echo "enttag needs Python >=$need; $python is $have" >&2
  exit 1
fi
