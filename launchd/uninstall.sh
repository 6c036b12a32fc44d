#!/bin/bash
# Stops and removes macsensor. Idempotent. Keeps the alert logs, config.toml and site rules unless --purge.
#
#   sudo ./uninstall.sh            remove the daemon, the app and the shipped rules
#   sudo ./uninstall.sh --purge    also remove the configuration, site rules and all logs
#
# Options:
#   --purge       remove everything, alert logs included
#   --root DIR    act on an installation staged under DIR; implies --no-unload
#   --no-unload   do not talk to launchctl
# Environment: LAUNCHCTL (default /bin/launchctl), PKGUTIL (default /usr/sbin/pkgutil).
set -euo pipefail

LABEL="com.macsensor.agent"
PKG_ID="com.macsensor.pkg"
LAUNCHCTL="${LAUNCHCTL:-/bin/launchctl}"
PKGUTIL="${PKGUTIL:-/usr/sbin/pkgutil}"
ROOT=""
PURGE=0
UNLOAD=1

die() {
	echo "uninstall.sh: $*" >&2
	exit 1
}

while [ $# -gt 0 ]; do
	case "$1" in
	--purge)
		PURGE=1
		shift
		;;
	--root)
		[ $# -ge 2 ] || die "--root needs a folder"
		ROOT="${2%/}"
		UNLOAD=0
		shift 2
		;;
	--no-unload)
		UNLOAD=0
		shift
		;;
	-h | --help)
		sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*) die "unknown option '$1' (see --help)" ;;
	esac
done

[ "$(id -u)" -eq 0 ] || [ -n "$ROOT" ] || die "run as root (sudo)"

SUPPORT="$ROOT/Library/Application Support/macsensor"
LOGS="$ROOT/Library/Logs/macsensor"
PLIST="$ROOT/Library/LaunchDaemons/$LABEL.plist"

if [ "$UNLOAD" -eq 1 ] && "$LAUNCHCTL" print "system/$LABEL" >/dev/null 2>&1; then
	"$LAUNCHCTL" bootout "system/$LABEL" || true
fi

rm -f "$PLIST" "$ROOT/etc/newsyslog.d/macsensor.conf"
rm -rf "$SUPPORT/macsensor.app" "$SUPPORT/macsensor.app.new" "$SUPPORT/rules/macsensor"
rm -f "$ROOT/var/run/macsensor.pid"
if [ -L "$ROOT/usr/local/bin/macsensor" ]; then rm -f "$ROOT/usr/local/bin/macsensor"; fi

if [ "$PURGE" -eq 1 ]; then
	rm -rf "$SUPPORT" "$LOGS"
	echo "uninstall.sh: removed macsensor, its configuration, rules and logs"
else
	rmdir "$SUPPORT/rules" 2>/dev/null || true
	rmdir "$SUPPORT" 2>/dev/null || true
	echo "uninstall.sh: removed macsensor; kept $LOGS (alert logs) and any config.toml and site rules in $SUPPORT"
	echo "uninstall.sh: run with --purge to remove them too"
fi

if [ -z "$ROOT" ] && [ -x "$PKGUTIL" ] && "$PKGUTIL" --pkg-info "$PKG_ID" >/dev/null 2>&1; then
	"$PKGUTIL" --forget "$PKG_ID" >/dev/null
fi
