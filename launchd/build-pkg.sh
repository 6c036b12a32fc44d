#!/bin/bash
# Builds the signed, notarized installer package on a Mac:
#   macsensor.app (Node single-executable application + the Node-API addon + the ES entitlement) → .pkg.
#
# Needs: Xcode command line tools, Node 20 (the `node` on PATH is the runtime copied into the app — build on
# each architecture you ship, or use a universal node), an Apple Developer ID Application and Developer ID
# Installer certificate in the keychain, the Endpoint Security provisioning profile Apple issued to your team,
# and a notarytool keychain profile (xcrun notarytool store-credentials).
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
OUT="$REPO/build/pkg"
SEA="$REPO/build/sea"
APP="$OUT/root/Library/Application Support/macsensor/macsensor.app"

[ "$(uname -s)" = Darwin ] || { echo "build-pkg.sh: runs on macOS only" >&2; exit 1; }
cd "$REPO"
VERSION="$(node -p 'require("./package.json").version')"

echo "== 1. JavaScript and the addon"
npm ci
npm run build
npx --no-install node-gyp rebuild

echo "== 2. One CommonJS file for the single-executable application"
# Node 20 runs a single CommonJS script in a SEA. import.meta.url does not exist there: define it as the
# executable's own URL (createRequire(process.execPath) is how a SEA loads files from disk, the addon included).
rm -rf "$SEA" "$OUT"
mkdir -p "$SEA"
npx --yes esbuild@0.24 "$LAUNCHD/bundle/sea-entry.mjs" \
	--bundle --platform=node --target=node20 --format=cjs \
	--define:import.meta.url=__macsensor_self_url \
	--banner:js='const __macsensor_self_url = require("node:url").pathToFileURL(process.execPath).href;' \
	--outfile="$SEA/macsensor.cjs"
node --experimental-sea-config "$LAUNCHD/bundle/sea-config.json"

echo "== 3. The app bundle"
mkdir -p "$APP/Contents/MacOS" "$APP/Contents/Frameworks" "$APP/Contents/Resources"
cp "$(command -v node)" "$APP/Contents/MacOS/macsensor"
chmod u+w "$APP/Contents/MacOS/macsensor"
codesign --remove-signature "$APP/Contents/MacOS/macsensor"
npx --yes postject@1 "$APP/Contents/MacOS/macsensor" NODE_SEA_BLOB "$SEA/sea-prep.blob" \
	--sentinel-fuse NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2 \
	--macho-segment-name NODE_SEA
# Code goes in Contents/Frameworks (code in Resources breaks the bundle's signature seal).
cp "$REPO/build/Release/macsensor.node" "$APP/Contents/Frameworks/macsensor.node"
sed "s/<string>0.0.0<\/string>/<string>$VERSION<\/string>/g" "$LAUNCHD/bundle/Info.plist" >"$APP/Contents/Info.plist"
cp "$PROVISIONING_PROFILE" "$APP/Contents/embedded.provisionprofile"
cp "$LAUNCHD/com.macsensor.agent.plist" "$LAUNCHD/install.sh" "$LAUNCHD/uninstall.sh" "$LAUNCHD/config.toml" \
	"$APP/Contents/Resources/"
cp -R "$REPO/rules" "$APP/Contents/Resources/rules"
cp "$LAUNCHD/newsyslog/macsensor.conf" "$APP/Contents/Resources/newsyslog.conf"

echo "== 4. Code signing: hardened runtime, timestamp; inner code first, same Team ID throughout"
codesign --force --options runtime --timestamp --sign "$APP_IDENTITY" "$APP/Contents/Frameworks/macsensor.node"
codesign --force --options runtime --timestamp --sign "$APP_IDENTITY" \
	--identifier "$BUNDLE_ID" --entitlements "$LAUNCHD/bundle/entitlements.plist" "$APP"
codesign --verify --strict --deep --verbose=2 "$APP"
for code in "$APP" "$APP/Contents/Frameworks/macsensor.node"; do
	team="$(codesign -dv "$code" 2>&1 | sed -n 's/^TeamIdentifier=//p')"
	[ "$team" = "$TEAM_ID" ] || { echo "build-pkg.sh: $code is signed by team '$team', expected $TEAM_ID" >&2; exit 1; }
done
codesign -d --entitlements - "$APP" | grep -q endpoint-security.client

echo "== 5. Installer package"
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

echo "== 6. MDM profiles with this Team ID"
mkdir -p "$OUT/profiles"
for profile in "$LAUNCHD"/profiles/*.mobileconfig; do
	sed "s/TEAMID1234/$TEAM_ID/g" "$profile" >"$OUT/profiles/$(basename "$profile")"
done

if [ "$SKIP_NOTARIZE" = 1 ]; then
	echo "== done (not notarized): $OUT/macsensor-$VERSION.pkg"
	exit 0
fi

echo "== 7. Notarization"
xcrun notarytool submit "$OUT/macsensor-$VERSION.pkg" --keychain-profile "$NOTARY_PROFILE" --wait
xcrun stapler staple "$OUT/macsensor-$VERSION.pkg"
xcrun stapler validate "$OUT/macsensor-$VERSION.pkg"
spctl --assess --type install --verbose "$OUT/macsensor-$VERSION.pkg"
echo "== done: $OUT/macsensor-$VERSION.pkg"
