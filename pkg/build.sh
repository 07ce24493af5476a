#!/usr/bin/env bash
# Builds the packages into target/pkg/: wallwatch_VERSION-1_ARCH.deb (cargo-deb) and
# wallwatch-VERSION-1.ARCH.rpm (cargo-generate-rpm), from the same files:
#   - the man pages and completions, made from the clap definitions (examples/generate_assets);
#   - the binary, stripped (cargo deb strips its own copy; the .rpm gets one made here);
#   - pkg/wallwatch.service, pkg/wallwatch.toml, the maintainer scripts in pkg/debian, pkg/rpm.
# cargo-deb and cargo-generate-rpm must be on PATH: `source pkg/tools.sh` puts them there.
#
# WALLWATCH_PACKAGE_PROFILE=dev packages the debug build instead of a release build (CI does,
# to check the packaging with the binary its tests built, without a second, optimised build).
set -euo pipefail
cd "$(dirname "$0")/.."

profile=${WALLWATCH_PACKAGE_PROFILE:-release}
case "$profile" in
    release) built=target/release/wallwatch ;;
    dev) built=target/debug/wallwatch ;;
    *) echo "WALLWATCH_PACKAGE_PROFILE: release or dev, not '$profile'" >&2; exit 2 ;;
esac
out=target/pkg
rm -rf "$out"
mkdir -p "$out"
# A debug build of the example is enough: the pages are the same in every profile.
cargo run --locked --quiet --example generate_assets -- "$out"
# --strip: the release profile keeps its line tables (for backtraces of `cargo build`), which
# cargo-deb would otherwise keep too.
cargo deb --locked --strip --profile "$profile" --output "$out/"
strip --strip-unneeded --remove-section=.comment --remove-section=.note -o "$out/wallwatch" "$built"
for page in "$out"/man/*.1; do
    gzip -9n -c "$page" >"$page.gz"
done
cargo generate-rpm --output "$out/"
ls -l "$out"/*.deb "$out"/*.rpm
