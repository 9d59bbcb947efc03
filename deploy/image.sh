#!/usr/bin/env bash
# Builds logbench's runtime image from this machine's release binaries (stripped), the way
# upstream Ballista's dev images are made, and optionally the S3 server image (moto) that
# `./deploy.sh compose --store s3` runs. Nothing is pulled when the base is `local`.
#
#   deploy/image.sh [--tag logbench:dev] [--base local|public|IMAGE] [--moto TAG]
#                   [--bin-dir DIR] [--tag-file FILE] [--dry-run]
#
# --tag NAME     without a tag (no ':' after the last '/'): tagged <commit>-<digest>, the
#                commit checked out (with -dirty for uncommitted changes) and the first 12
#                hex digits of the SHA-256 of the stripped binaries, so that every build of
#                other binaries has a tag of its own. --tag-file FILE gets the full name.
# --base local   (the default here) a base made on this machine: `scratch` plus exactly the
#                shared libraries the four binaries load (ldd), the CA bundle, /etc/passwd
#                with the nonroot user 65532, and /data, /work, /tmp. Imported as
#                logbench-base:local; no registry needed.
# --base public  gcr.io/distroless/cc-debian12:nonroot, the Dockerfile's default (pulled).
# --base IMAGE   any other base with glibc and libgcc.
# --moto TAG     also build TAG: moto's S3 server on this machine's Python 3.11 (Debian's
#                /usr/bin/python3.11 with its standard library and the shared libraries its
#                modules load) and the pinned moto from scripts/ci/requirements.txt.
#
# Its work files (the base's root, the build context, the tag file's default place) go to
# $LOGBENCH_IMAGE_DIR, by default .bench/image.
#
# The binaries come from --bin-dir, by default $CARGO_TARGET_DIR/release (build them first: cargo build --release
# --workspace). Prints the image's size. Building inside Docker from source instead (where a
# Rust image can be pulled): docker build -f deploy/Dockerfile.source -t logbench:dev .
set -euo pipefail
cd "$(dirname "$0")/.."

tag=logbench:dev
base=local
bin=${CARGO_TARGET_DIR:-target}/release
moto=
tag_file=
dry_run=false
while [[ $# -gt 0 ]]; do
  case $1 in
    --tag) tag=${2:?--tag needs a value}; shift 2 ;;
    --base) base=${2:?--base needs a value}; shift 2 ;;
    --moto) moto=${2:?--moto needs a value}; shift 2 ;;
    --bin-dir) bin=${2:?--bin-dir needs a value}; shift 2 ;;
    --tag-file) tag_file=${2:?--tag-file needs a value}; shift 2 ;;
    --dry-run) dry_run=true; shift ;;
    -h | --help) sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "image.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

programs=(data-gen bench-runner logbench-scheduler logbench-executor)
work=${LOGBENCH_IMAGE_DIR:-.bench/image}
base_image=logbench-base:local

run() {
  if $dry_run; then printf '+ %s\n' "$(printf '%q ' "$@")"; else "$@"; fi
}

# Copies every shared library FILE loads (ldd, symlinks resolved) into ROOT at the same
# absolute path, the dynamic loader included.
copy_libs() { # ROOT FILE
  local lib
  while read -r lib; do
    [[ -e $1$lib ]] && continue
    mkdir -p "$1$(dirname "$lib")"
    cp -L "$lib" "$1$lib"
  done < <(ldd "$2" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
}

# A root with the nonroot user, a CA bundle, name resolution from /etc/hosts then DNS, and the
# directories the pods mount (writable by 65532, so named volumes start writable).
skeleton() { # ROOT
  local root=$1
  mkdir -p "$root"/{etc,tmp,data,work,home/nonroot}
  chmod 1777 "$root/tmp"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnonroot:x:65532:\n' >"$root/etc/group"
  printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
  if [[ -f /etc/ssl/certs/ca-certificates.crt ]]; then
    mkdir -p "$root/etc/ssl/certs"
    cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
  fi
  chown 65532:65532 "$root"/{data,work,home/nonroot}
}

# Imports ROOT (owners kept) as image TAG.
import_root() { # ROOT TAG
  tar -C "$1" --numeric-owner -c . | docker import - "$2" >/dev/null
}

for p in "${programs[@]}"; do
  [[ -x $bin/$p ]] || $dry_run || {
    echo "image.sh: $bin/$p not found: build first (cargo build --release --workspace)" >&2
    exit 1
  }
done

if [[ $base == local ]]; then
  if $dry_run; then
    echo "+ make $work/base-root: ${programs[*]}'s shared libraries (ldd), /etc/passwd (65532), CA bundle, /data /work /tmp"
    echo "+ tar -C $work/base-root -c . | docker import - $base_image"
  else
    rm -rf "$work/base-root"
    skeleton "$work/base-root"
    # The libraries only: the binaries themselves go in through the Dockerfile.
    for p in "${programs[@]}"; do
      copy_libs "$work/base-root" "$bin/$p"
    done
    import_root "$work/base-root" "$base_image"
    echo "image.sh: base $base_image: $(find "$work/base-root" -name '*.so*' | wc -l) shared libraries, $(du -sh "$work/base-root" | cut -f1)"
  fi
  base_arg=$base_image
elif [[ $base == public ]]; then
  base_arg=gcr.io/distroless/cc-debian12:nonroot
else
  base_arg=$base
fi

# The build context: the stripped binaries and the directories the image owns.
ctx=$work/context
run rm -rf "$ctx"
run mkdir -p "$ctx/bin" "$ctx/dirs/data" "$ctx/dirs/work" "$ctx/dirs/scratch"
for p in "${programs[@]}"; do
  run strip -o "$ctx/bin/$p" "$bin/$p"
done
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
[[ -n $(git --no-optional-locks status --porcelain --untracked-files=no 2>/dev/null) ]] && revision=$revision-dirty
if [[ ${tag##*/} != *:* ]]; then
  short=${revision:0:7}
  [[ $revision == *-dirty ]] && short=$short-dirty
  if $dry_run; then
    tag=$tag:$short-DIGEST
  else
    tag=$tag:$short-$(cat "$ctx"/bin/* | sha256sum | cut -c1-12)
  fi
fi
# The platform of the binaries (their ELF header), stated, so that the image says what it
# runs on wherever it was built.
case $(od -An -t x1 -j 18 -N 2 "$bin/bench-runner" 2>/dev/null | tr -d ' \n') in
  3e00) platform=linux/amd64 ;;
  b700) platform=linux/arm64 ;;
  *) platform= ;;
esac
# The build's own output only when it fails (the legacy builder warns that it is deprecated).
build() {
  local out
  out=$("$@" 2>&1) || { printf '%s\n' "$out" >&2; return 1; }
}
run build docker build -f deploy/Dockerfile --build-arg "BASE=$base_arg" \
  --build-arg "REVISION=$revision" ${platform:+--platform "$platform"} -t "$tag" "$ctx"
if ! $dry_run; then
  bytes=$(docker image inspect -f '{{.Size}}' "$tag")
  echo "image.sh: $tag ($platform) on $base_arg: $((bytes / 1000000)) MB (binaries $(du -ch "$ctx"/bin/* | tail -1 | cut -f1))"
fi
if [[ -n $tag_file ]]; then
  if $dry_run; then
    echo "+ echo $tag > $tag_file"
  else
    mkdir -p "$(dirname "$tag_file")"
    printf '%s\n' "$tag" >"$tag_file.tmp" && mv "$tag_file.tmp" "$tag_file"
  fi
fi

[[ -n $moto ]] || exit 0
py=/usr/bin/python3.11
if $dry_run; then
  echo "+ make $work/moto-root: $py, /usr/lib/python3.11, moto and its dependencies (pip --target), their shared libraries"
  echo "+ tar -C $work/moto-root -c . | docker import --change 'USER 65532:65532' ... - $moto"
  exit 0
fi
[[ -x $py ]] || { echo "image.sh: $py not found: the S3 image needs Debian's python3.11" >&2; exit 1; }
# moto's packages, pinned as the tests pin them, installed once per requirements file.
req=scripts/ci/requirements.txt
site=${LOGBENCH_CACHE:-$HOME/.cache/logbench}/moto-site-$(grep -iE '^(moto|flask|flask-cors)(\[|==)' "$req" | sha256sum | cut -c1-12)
if [[ ! -d $site ]]; then
  "$py" -m pip --version >/dev/null 2>&1 || { echo "image.sh: $py has no pip (apt install python3-pip)" >&2; exit 1; }
  rm -rf "$site.tmp"
  # shellcheck disable=SC2046 # one requirement per word
  "$py" -m pip install -q --disable-pip-version-check --root-user-action=ignore --target "$site.tmp" \
    $(grep -iE '^(moto|flask|flask-cors)(\[|==)' "$req")
  mv "$site.tmp" "$site"
fi
root=$work/moto-root
rm -rf "$root"
skeleton "$root"
mkdir -p "$root/usr/bin" "$root/usr/lib/python3"
cp -L "$py" "$root$py"
cp -a /usr/lib/python3.11 "$root/usr/lib/"
rm -rf "$root/usr/lib/python3.11/"{test,idlelib,tkinter,ensurepip,turtledemo}
cp -a "$site" "$root/usr/lib/python3/dist-packages"
copy_libs "$root" "$py"
# The extension modules' libraries (_ssl, _ctypes, cryptography's Rust extension, ...).
while read -r so; do
  copy_libs "$root" "$so"
done < <(find "$root/usr/lib/python3.11/lib-dynload" "$root/usr/lib/python3/dist-packages" -name '*.so')
tar -C "$root" --numeric-owner -c . | docker import \
  --change 'USER 65532:65532' --change 'WORKDIR /tmp' \
  --change 'ENV PYTHONPATH=/usr/lib/python3/dist-packages PYTHONDONTWRITEBYTECODE=1' \
  --change 'ENTRYPOINT ["/usr/bin/python3.11", "-m", "moto.server"]' - "$moto" >/dev/null
echo "image.sh: $moto (moto's S3 server): $(($(docker image inspect -f '{{.Size}}' "$moto") / 1000000)) MB"
