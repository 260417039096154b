#!/usr/bin/env bash
# ctest install.layout: `cmake --install --prefix /usr` into a DESTDIR puts every file in its
# usual place; a second install keeps an edited /etc/runwared/runwared.conf; the man pages
# render without warnings; and `systemd-analyze verify` accepts the unit (with its ExecStart
# pointed at the built binary and MANPATH at the installed pages, which its Documentation=
# names).
# Usage: check_install.sh BUILD_DIR RUNWARED
set -euo pipefail
build=$1 runwared=$2
dest=$(mktemp -d /tmp/rw-install.XXXXXX)
trap 'rm -rf "$dest"' EXIT
fail() { echo "FAIL install.layout: $*" >&2; exit 1; }

DESTDIR=$dest cmake --install "$build" --prefix /usr >"$dest.log" 2>&1 ||
    { cat "$dest.log"; rm -f "$dest.log"; fail "cmake --install failed"; }
rm -f "$dest.log"
for f in usr/sbin/runwared usr/bin/runwarectl \
    etc/runwared/runwared.conf etc/runwared/flux-1-dev-srpo.schema.json \
    usr/lib/systemd/system/runwared.service usr/lib/sysusers.d/runwared.conf \
    usr/share/man/man8/runwared.8 usr/share/man/man5/runwared.conf.5 \
    usr/share/man/man1/runwarectl.1 usr/share/doc/runwared/README.md \
    usr/share/doc/runwared/runwared.conf usr/share/doc/runwared/examples/python/producer.py \
    usr/include/runwared/rw_producer.h usr/lib/pkgconfig/runwared-producer.pc; do
    [ -f "$dest/$f" ] || fail "/$f was not installed"
done
[ -x "$dest/usr/sbin/runwared" ] && [ -x "$dest/usr/bin/runwarectl" ] || fail "binaries not executable"
! grep -rq "@VERSION@" "$dest/usr/share/man" || fail "a man page still says @VERSION@"
[ ! -e "$dest/usr/share/doc/runwared/examples/node/node_modules" ] || fail "node_modules installed"

# the installed binary runs, and checks the installed configuration's syntax
"$dest/usr/sbin/runwared" --version | grep -q "^runwared " || fail "runwared --version"

# a reinstall keeps the operator's configuration
echo "# edited" >>"$dest/etc/runwared/runwared.conf"
DESTDIR=$dest cmake --install "$build" --prefix /usr >/dev/null 2>&1 || fail "second install failed"
tail -n 1 "$dest/etc/runwared/runwared.conf" | grep -q "# edited" || fail "a reinstall overwrote runwared.conf"

# man pages: no groff or man warnings
for page in man8/runwared.8 man5/runwared.conf.5 man1/runwarectl.1; do
    out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$dest/usr/share/man/$page" 2>&1 >/dev/null) ||
        fail "man $page failed: $out"
    [ -z "$out" ] || fail "man $page warns: $out"
done

# the unit
unit=$dest/runwared.service
sed "s#/usr/sbin/runwared#$runwared#g" "$dest/usr/lib/systemd/system/runwared.service" >"$unit"
out=$(MANPATH=$dest/usr/share/man systemd-analyze verify "$unit" 2>&1) ||
    fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify warns: $out"
grep -q "^Type=notify" "$unit" && grep -q "^WatchdogSec=" "$unit" && grep -q "^ExecReload=" "$unit" &&
    grep -q "^LoadCredential=api_key:" "$unit" && grep -q "^Restart=on-failure" "$unit" ||
    fail "the unit lacks Type=notify, WatchdogSec, ExecReload, LoadCredential or Restart"
echo "install.layout: ok"
