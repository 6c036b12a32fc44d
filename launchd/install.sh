#!/bin/bash
# Installs (or re-installs) macsensor as a LaunchDaemon. Idempotent: run it again to repair permissions or to
# upgrade; it never overwrites an existing config.toml and keeps site rules and alert logs.
#
#   sudo ./install.sh --bundle /path/to/macsensor.app      install a built bundle and start the daemon
#   sudo ./install.sh                                      bundle already in place (the package's postinstall)
#
# Options:
#   --bundle PATH   the macsensor.app to copy into place
#   --root DIR      install under DIR instead of / (staging a disk image, tests); implies --no-load
#   --no-load       do not (re)load the daemon with launchctl
#   --load          (re)load even with --root (only with a stand-in LAUNCHCTL, for tests)
# Environment: LAUNCHCTL (default /bin/launchctl).
#
# Resulting layout (owner root, group wheel = gid 0; nothing writable by group or others):
#   /Library/Application Support/macsensor/                 0755
#     macsensor.app/                                        dirs and executables 0755, other files 0644
#     config.toml                                           0644 (installed once from the bundle's sample)
#     rules/                                                0755; rules/macsensor/ holds the shipped rules,
#                                                           replaced on every install; add site rules beside it
#   /Library/LaunchDaemons/com.macsensor.agent.plist        0644
#   /Library/Logs/macsensor/                                0750; logs in it 0640
#   /usr/local/bin/macsensor                                symlink to the bundle's executable, for admins
set -euo pipefail

LABEL="com.macsensor.agent"
LAUNCHCTL="${LAUNCHCTL:-/bin/launchctl}"
ROOT=""
BUNDLE=""
LOAD=1
FORCE_LOAD=0

die() {
	echo "install.sh: $*" >&2
	exit 1
}

while [ $# -gt 0 ]; do
	case "$1" in
	--bundle)
		[ $# -ge 2 ] || die "--bundle needs a path"
		BUNDLE="$2"
		shift 2
		;;
	--root)
		[ $# -ge 2 ] || die "--root needs a folder"
		ROOT="${2%/}"
		LOAD=0
		shift 2
		;;
	--no-load)
		LOAD=0
		shift
		;;
	--load)
		FORCE_LOAD=1
		shift
		;;
	-h | --help)
		sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*) die "unknown option '$1' (see --help)" ;;
	esac
done

[ "$FORCE_LOAD" -eq 0 ] || LOAD=1
IS_ROOT=0
[ "$(id -u)" -eq 0 ] && IS_ROOT=1
[ "$IS_ROOT" -eq 1 ] || [ -n "$ROOT" ] || die "run as root (sudo), or stage with --root DIR"

SUPPORT="$ROOT/Library/Application Support/macsensor"
APP="$SUPPORT/macsensor.app"
RESOURCES="$APP/Contents/Resources"
RULES="$SUPPORT/rules"
LOGS="$ROOT/Library/Logs/macsensor"
DAEMONS="$ROOT/Library/LaunchDaemons"
PLIST="$DAEMONS/$LABEL.plist"

# owner root:wheel (gid 0) when we can; a staging run without root keeps the caller's ownership.
own() {
	if [ "$IS_ROOT" -eq 1 ]; then chown "$@"; fi
}

# make_dir MODE DIR: create our folder DIR and set its owner and mode, even if it existed.
make_dir() {
	mkdir -p "$2"
	own 0:0 "$2"
	chmod "$1" "$2"
}

# system_dir DIR: a folder that is not ours (/Library/Logs, /usr/local/bin, ...): created 0755 if missing,
# otherwise left exactly as it is (its owner and mode belong to macOS or to another tool, e.g. Homebrew).
system_dir() {
	if [ ! -d "$1" ]; then
		mkdir -p "$1"
		own 0:0 "$1"
		chmod 0755 "$1"
	fi
}

copy_tree() {
	if command -v ditto >/dev/null 2>&1; then
		ditto "$1" "$2" # keeps code signatures, extended attributes and symlinks in bundles
	else
		cp -R "$1" "$2"
	fi
}

system_dir "$ROOT/Library"
system_dir "$ROOT/Library/Application Support"
system_dir "$DAEMONS"
system_dir "$ROOT/Library/Logs"
make_dir 0755 "$SUPPORT"
make_dir 0755 "$RULES"
make_dir 0750 "$LOGS"

if [ -n "$BUNDLE" ]; then
	[ -x "$BUNDLE/Contents/MacOS/macsensor" ] || die "$BUNDLE is not a macsensor.app (no Contents/MacOS/macsensor)"
	rm -rf "$APP.new"
	copy_tree "$BUNDLE" "$APP.new"
	rm -rf "$APP"
	mv "$APP.new" "$APP"
fi
[ -x "$APP/Contents/MacOS/macsensor" ] || die "no bundle at $APP (give --bundle PATH)"

own -R 0:0 "$APP"
chmod -R u=rwX,go=rX "$APP"

# Shipped rules: replaced as a whole so that a rule removed upstream disappears.
if [ -d "$RESOURCES/rules" ]; then
	rm -rf "$RULES/macsensor"
	cp -R "$RESOURCES/rules" "$RULES/macsensor"
fi
own -R 0:0 "$RULES"
chmod -R u=rwX,go=rX "$RULES"

if [ ! -e "$SUPPORT/config.toml" ] && [ -f "$RESOURCES/config.toml" ]; then
	cp "$RESOURCES/config.toml" "$SUPPORT/config.toml"
fi
if [ -e "$SUPPORT/config.toml" ]; then
	own 0:0 "$SUPPORT/config.toml"
	chmod 0644 "$SUPPORT/config.toml"
fi

[ -f "$RESOURCES/$LABEL.plist" ] || die "the bundle has no Contents/Resources/$LABEL.plist"
cp "$RESOURCES/$LABEL.plist" "$PLIST"
own 0:0 "$PLIST"
chmod 0644 "$PLIST"

# newsyslog rotates what launchd captures for the agent (stderr.log); the agent rotates its own logs.
if [ -f "$RESOURCES/newsyslog.conf" ]; then
	system_dir "$ROOT/etc"
	system_dir "$ROOT/etc/newsyslog.d"
	cp "$RESOURCES/newsyslog.conf" "$ROOT/etc/newsyslog.d/macsensor.conf"
	own 0:0 "$ROOT/etc/newsyslog.d/macsensor.conf"
	chmod 0644 "$ROOT/etc/newsyslog.d/macsensor.conf"
fi

# `sudo macsensor status` for admins: a link to the bundle's executable on the default PATH.
system_dir "$ROOT/usr/local/bin"
ln -sfn "/Library/Application Support/macsensor/macsensor.app/Contents/MacOS/macsensor" "$ROOT/usr/local/bin/macsensor"

# Logs the agent already wrote: not readable by others.
find "$LOGS" -type f -exec chmod 0640 {} +
if [ "$IS_ROOT" -eq 1 ]; then find "$LOGS" -type f -exec chown 0:0 {} +; fi

if [ "$LOAD" -eq 1 ]; then
	if "$LAUNCHCTL" print "system/$LABEL" >/dev/null 2>&1; then
		"$LAUNCHCTL" bootout "system/$LABEL" || true
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			"$LAUNCHCTL" print "system/$LABEL" >/dev/null 2>&1 || break
			sleep 1
		done
	fi
	"$LAUNCHCTL" enable "system/$LABEL"
	"$LAUNCHCTL" bootstrap system "$PLIST"
	echo "install.sh: $LABEL installed and started; check with: sudo launchctl print system/$LABEL"
else
	echo "install.sh: $LABEL installed under ${ROOT:-/} (not loaded)"
fi
