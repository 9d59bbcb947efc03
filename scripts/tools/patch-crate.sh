#!/usr/bin/env bash
# Makes a patched copy of a crate the project builds against: the registry's sources of the
# version named by the patch files (patches/<crate>-<version>--<what>.patch), copied fresh and
# the patches applied in the order given, for `[patch.crates-io] <crate> = { path = "DIR" }`.
# Usage: scripts/tools/patch-crate.sh PATCH [PATCH...] OUT-DIR
#   (prints the patched crate's directory; every PATCH must name the same crate and version)
# The registry copy must exist: any cargo build or `cargo fetch` of this repository makes it.
set -euo pipefail
die() { echo "patch-crate.sh: $1" >&2; exit "${2:-1}"; }
[[ $# -ge 2 ]] || die "usage: scripts/tools/patch-crate.sh PATCH [PATCH...] OUT-DIR" 2
outdir=${*: -1}
patch_files=()
crate_version=
for arg in "${@:1:$#-1}"; do
  p=$(realpath "$arg") || die "no patch file $arg" 2
  [[ -f $p ]] || die "no patch file $arg" 2
  name=$(basename "$p" .patch)
  cv=${name%%--*}
  [[ $cv != "$name" && $cv =~ ^(.+)-([0-9]+\.[0-9]+\.[0-9]+.*)$ ]] ||
    die "$arg: the file name must read <crate>-<version>--<what>.patch" 2
  [[ -z $crate_version || $cv == "$crate_version" ]] ||
    die "$arg patches $cv, the patches before it $crate_version: one crate and version per copy" 2
  crate_version=$cv
  crate=${BASH_REMATCH[1]}
  version=${BASH_REMATCH[2]}
  patch_files+=("$p")
done
command -v patch >/dev/null || die "the patch program is missing (apt-get install patch)"
registry=${CARGO_HOME:-$HOME/.cargo}/registry/src
src=$(find "$registry" -mindepth 2 -maxdepth 2 -type d -name "$crate_version" 2>/dev/null | head -n 1)
[[ -n $src ]] || die "$crate $version is not in $registry: run 'cargo fetch' in the repository first"

mkdir -p "$outdir"
out=$(realpath "$outdir")/$crate_version
tmp=$(mktemp -d "$(dirname "$out")/.patch-crate.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cp -r "$src/." "$tmp/"
for p in "${patch_files[@]}"; do
  patch -d "$tmp" -p1 --batch --forward --silent <"$p" ||
    die "$(basename "$p") does not apply to $crate $version"
done
rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
echo "$out"
