#!/bin/sh
# Build the macOS disk image from the app bundle (macOS only: hdiutil).
#
#   .venv/bin/python packaging/make_icons.py      # packaging/macos/chatkit-desk.icns
#   .venv/bin/python packaging/build_bundle.py    # dist/ChatKit Desk.app (BUNDLE step in build.spec)
#   sh packaging/macos/make_dmg.sh                # dist/chatkit-desk-<version>-macos-<arch>.dmg
#
# Optional signing and notarization, when these are set (CI secrets):
#   CHATKIT_DESK_CODESIGN_IDENTITY   "Developer ID Application: …" (also read by build.spec)
#   NOTARY_PROFILE                   a `xcrun notarytool store-credentials` profile name
# Unsigned images work, but Gatekeeper makes the user right-click → Open the first time.
# Not run on the Linux machine where this was written: CI runs it (.github/workflows/build.yml).
set -eu
cd "$(dirname "$0")/../.."

APP="dist/ChatKit Desk.app"
[ -d "$APP" ] || { echo "no $APP: run packaging/build_bundle.py on macOS first" >&2; exit 1; }
VERSION=$("$APP/Contents/MacOS/chatkit-desk" --version | awk '{print $NF}')
ARCH=$(uname -m)
DMG="dist/chatkit-desk-$VERSION-macos-$ARCH.dmg"

STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
cp -R "$APP" "$STAGE/"
ln -s /Applications "$STAGE/Applications"   # drag the app onto it to install

if [ -n "${CHATKIT_DESK_CODESIGN_IDENTITY:-}" ]; then
  codesign --force --deep --options runtime --timestamp \
    --sign "$CHATKIT_DESK_CODESIGN_IDENTITY" "$STAGE/ChatKit Desk.app"
fi

rm -f "$DMG"
hdiutil create -volname "ChatKit Desk" -srcfolder "$STAGE" -fs HFS+ -format UDZO -ov "$DMG"

if [ -n "${CHATKIT_DESK_CODESIGN_IDENTITY:-}" ]; then
  codesign --force --timestamp --sign "$CHATKIT_DESK_CODESIGN_IDENTITY" "$DMG"
  if [ -n "${NOTARY_PROFILE:-}" ]; then
    xcrun notarytool submit "$DMG" --keychain-profile "$NOTARY_PROFILE" --wait
    xcrun stapler staple "$DMG"
  fi
fi
echo "built $DMG: $(du -h "$DMG" | cut -f1)"
