#!/usr/bin/env bash
# Source it: puts cargo-deb and cargo-generate-rpm, at the versions the packages were checked
# with, on PATH. They are built once into a cache of their own ($WALLWATCH_PACKAGE_TOOLS, by
# default ~/.cache/wallwatch/package-tools), never into the system's paths or ~/.cargo/bin.
_pkg_tools_root=${WALLWATCH_PACKAGE_TOOLS:-$HOME/.cache/wallwatch/package-tools}
for _pkg_tool in cargo-deb@3.8.0 cargo-generate-rpm@0.21.1; do
    _pkg_name=${_pkg_tool%@*}
    _pkg_version=${_pkg_tool#*@}
    if ! grep -qs "\"$_pkg_name $_pkg_version " "$_pkg_tools_root/.crates.toml"; then
        cargo install --locked --quiet --root "$_pkg_tools_root" "$_pkg_name" --version "$_pkg_version"
    fi
done
export PATH="$_pkg_tools_root/bin:$PATH"
unset _pkg_tools_root _pkg_tool _pkg_name _pkg_version
