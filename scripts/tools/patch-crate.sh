#!/usr/bin/env bash
# Makes a patched copy of a crate the project builds against: the registry's sources of the
# version named by the patch file (patches/<crate>-<version>--<what>.patch), copied fresh and
# the patch applied, for `[patch.crates-io] <crate> = { path = "DIR" }`.
# Usage: scripts/tools/patch-crate.sh PATCH OUT-DIR   (prints the patched crate's directory)
# The registry copy must exist: any cargo build or `cargo fetch` of this repository makes it.
set -euo pipefail
die() { echo "patch-crate.sh: $1" >&2; exit "${2:-1}"; }
[[ $# -eq 2 ]] || die "usage: scripts/tools/patch-crate.sh PATCH OUT-DIR" 2
patch_file=$(realpath "$1") || die "no patch file $1" 2
[[ -f $patch_file ]] || die "no patch file $1" 2
name=$(basename "$patch_file" .patch)
crate_version=${name%%--*}
[[ $crate_version != "$name" && $crate_version =~ ^(.+)-([0-9]+\.[0-9]+\.[0-9]+.*)$ ]] ||
  die "$1: the file name must read <crate>-<version>--<what>.patch" 2
crate=${BASH_REMATCH[1]}
version=${BASH_REMATCH[2]}
command -v patch >/dev/null || die "the patch program is missing (apt-get install patch)"
registry=${CARGO_HOME:-$HOME/.cargo}/registry/src
src=$(find "$registry" -mindepth 2 -maxdepth 2 -type d -name "$crate_version" 2>/dev/null | head -n 1)
[[ -n $src ]] || die "$crate $version is not in $registry: run 'cargo fetch' in the repository first"

mkdir -p "$2"
out=$(realpath "$2")/$crate_version
tmp=$(mktemp -d "$(dirname "$out")/.patch-crate.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cp -r "$src/." "$tmp/"
patch -d "$tmp" -p1 --batch --forward --silent <"$patch_file" ||
  die "$1 does not apply to $crate $version"
rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
echo "$out"
