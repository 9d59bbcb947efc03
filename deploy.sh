#!/usr/bin/env bash
# logbench's front door: the whole pipeline on this machine (the default), or a Ballista
# cluster on Kubernetes. `./deploy.sh --help` explains.
set -euo pipefail
cd "$(dirname "$0")"

usage() {
  cat <<'EOF'
Usage:
  ./deploy.sh [local] [--rows N] [--files N] [--executors N] [--iterations N|auto] [--profile]
              [--engines LIST] [--load-rates LIST [--load-duration S]] [--dry-run]
  ./deploy.sh compose up|bench|results|down|status [--executors N] [--rows N] [--files N]
              [--iterations N|auto] [--store volume|s3] [--base local|public] [--project NAME]
              [--scale F] [--bin-dir DIR] [--load-rates LIST [--load-duration S]] [--dry-run]
  ./deploy.sh k8s up|bench|results|down|status|render [--executors N] [--rows N] [--files N]
              [--iterations N|auto] [--overlay local|multinode] [--image [REGISTRY/]NAME[:TAG]]
              [--scale F] [--storage-class NAME] [--load KIND] [--bin-dir DIR]
              [--load-rates LIST [--load-duration S]] [--dry-run]

local (the default): builds the release binaries; generates the dataset into data/logs-<rows>
  (kept when a valid one with the same parameters is there, checked against its manifest);
  starts a local Ballista cluster (a scheduler and --executors executors, separate processes
  on 127.0.0.1); runs the workload in queries/ on DataFusion and on Ballista; stops the cluster;
  writes results/<run>.json and the report (results/<run>/report.md, report.html, charts/).
  Defaults: --rows 200000000 --files 40 (the full scale; --rows scales down, files follow),
  --executors 2, --iterations auto (each query measured until its median is known within
  ±2 %, at least 3 runs, a 10 s budget per query; a number N measures exactly N runs).
  --profile: also a CPU profile of every query on both engines (bench-runner run --profile:
  DataFusion in the runner, Ballista on each executor), in runs after the measured ones;
  flamegraphs and folded stacks in results/<run>.profiles/, linked from the report.
  --engines LIST: the engines to run, comma-separated, of datafusion, ballista and duckdb
  (default datafusion,ballista). duckdb: DuckDB on the same files, in a Python worker; the
  pinned Python tools are installed first (scripts/ci/pytools.sh, into
  ~/.cache/logbench/venv or $LOGBENCH_VENV). Without ballista no cluster is started.
  --load-rates LIST: after the serial runs, a load sweep on DataFusion and on Ballista (of the
  engines run) on the same dataset and cluster: `bench-runner load --rate LIST --duration S`
  (--load-duration, default 30 s a rate), every workload query in the mix, into
  results/<run>.load-<engine>.json, in the same report. Rates are requests per second,
  comma-separated (for example 0.5,1,2 at 200M rows). compose bench and k8s bench take the
  same two flags: the sweep runs after the bench in the logbench-load Job's containers
  (DataFusion in the runner's container, then Ballista through the scheduler).

compose: the Kubernetes topology in containers on this machine (docker compose, files under
  .bench/compose-<project>/, generated from deploy/k8s by deploy/compose.py): a scheduler and
  --executors executors, each its own container and address on private networks, run with the
  pods' command lines, user and lock-down; the runner's containers reach the scheduler only.
  up       build the release binaries and the image (deploy/image.sh, base made here unless
           --base public), start the scheduler and executors, wait until all are registered
  bench    data-gen, then bench-runner (again on every call), then results
  results  copy the newest result file into results/ and render its report
  down     remove every container, network and volume `up` and `bench` made
  status   the containers and the executors the scheduler has registered
  --store volume (default): the dataset on a shared volume at /data/logs; s3: in moto's S3
  server, its own container (image built here), read over S3 by runner, scheduler and executors.
  bench, results, down and status use what `up` was given (kept in .bench/compose-<project>/).
  --bin-dir DIR: put these release binaries in the image instead of building them.
  --scale F: the pods' limits times F, as for k8s (CPUs still capped at this machine's).
  Defaults: --executors 2, --rows 200000000, --project logbench.

k8s: against the current kubectl context (namespace logbench).
  up       check the cluster (node architecture, a StorageClass, a registry to push to),
           build the image (deploy/image.sh), load it into kind, minikube or k3d (found from
           the nodes, whatever the context is called; --load kind:CLUSTER, minikube:PROFILE,
           k3d:CLUSTER, shared or push overrides it) or push it, apply the manifests
           (deploy/k8s/overlays/<overlay>), wait until the scheduler and executors are ready
  bench    run the data-gen Job, then the bench-runner Job (again on every call); each wait
           ends when the Job completes or fails, or a pod is stuck (an image it cannot pull,
           no node for it), printing every container's state and last log lines; the result
           file is copied out and its report rendered whatever bench-runner's exit code
  results  copy the newest result file into results/ and render its report
  down     delete everything `up` created
  status   pods, jobs, services and the volume
  render   print the manifests `up` and `bench` apply, for these settings
  bench, results, down and status use what `up` was given (kept in .bench/k8s-<context>/).
  --image: without a tag, the image is tagged <commit>-<digest of the binaries>, so each
  build has its own tag (recorded in the result file). A cluster that pulls needs a
  registry: --image REGISTRY/NAME.
  --scale F: every request and limit times F (the manifests fit minikube's defaults, 2 CPUs
  and 2200 MB; --scale 4 suits an 8-CPU, 16 GiB node). --storage-class NAME: the volumes'
  class, where the cluster has no default one.
  Defaults: --overlay local, --image logbench, --executors 2.
  Overlays: local (one node: the data on a volume of the default StorageClass); multinode (the
  data in MinIO, read over S3 by the runner, scheduler and executors; credentials from the
  Secret logbench-s3, which `up` creates with random values unless one exists).

--dry-run prints every command (and, for k8s, the rendered manifests) without running them.
Every step logs what it does; a failing step stops the script and names itself; finished
artifacts (binaries, dataset, result files) are kept.

Exit status: 0 when every query ran on both engines with the same answer; 1 when a step failed,
or when a query failed or the engines disagreed (the result file and report are still written);
2 for bad arguments.
EOF
}

log() { printf '== %s\n' "$*" >&2; }
die() { printf 'deploy.sh: %s\n' "$1" >&2; exit "${2:-1}"; }

dry_run=false
# Runs a command, or prints it under --dry-run.
run() {
  if $dry_run; then
    printf '+ %s\n' "$(printf '%q ' "$@")"
  else
    "$@"
  fi
}

# One numbered step: its name is in the error if it fails.
step_no=0
step() {
  local name=$1 t0
  shift
  step_no=$((step_no + 1))
  log "[$step_no] $name"
  t0=$(date +%s.%N)
  if ! "$@"; then
    die "step $step_no ($name) failed; finished artifacts are kept"
  fi
  $dry_run || log "[$step_no] done in $(elapsed "$t0")"
}
# Seconds since $1 (date +%s.%N), as "12.3 s" or "4 min 05.6 s".
elapsed() {
  awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { d = b - a; if (d < 60) printf "%.1f s", d; else printf "%d min %04.1f s", int(d / 60), d - 60 * int(d / 60) }'
}

positive() { # NAME VALUE: a whole number above zero; `_` separators and a k/M/G suffix read
  # as data-gen reads --rows (logbench_common::cli::parse_count; tests/k8s_deploy.rs checks both agree)
  local v=${2//_/} mult=1
  case $v in
    *[kK]) mult=1000 v=${v%?} ;;
    *[mM]) mult=1000000 v=${v%?} ;;
    *[gG]) mult=1000000000 v=${v%?} ;;
  esac
  if ! [[ $v =~ ^[0-9]+$ ]] || ((${#v} + ${#mult} > 19)) || ((10#$v * mult == 0)); then
    die "$1 needs a whole number above zero, not '$2'" 2
  fi
  printf '%s' "$((10#$v * mult))"
}

mode=local
action=
rows=200000000
files=
executors=2
iterations=auto
engines=datafusion,ballista
load_rates=
load_duration=30
profile=false
overlay=local
image=
store=volume
scale=1
storage_class=
load=
base=local
bin_dir=
project=logbench
given=()

if [[ $# -gt 0 && $1 != -* ]]; then
  mode=$1
  shift
fi
case $mode in
  local) ;;
  k8s | compose)
    [[ $# -gt 0 && $1 != -* ]] || die "$mode needs an action: up, bench, results, down or status" 2
    action=$1
    shift
    case $mode:$action in
      *:up | *:bench | *:results | *:down | *:status | k8s:render) ;;
      *) die "unknown $mode action '$action'" 2 ;;
    esac
    ;;
  help) usage; exit 0 ;;
  *) die "unknown mode '$mode' (local, compose or k8s; --help explains)" 2 ;;
esac
while [[ $# -gt 0 ]]; do
  case $1 in
    -h | --help) usage; exit 0 ;;
    --dry-run) dry_run=true; shift; continue ;;
    --profile)
      [[ $mode == local ]] || die "--profile is for the local pipeline (bench-runner run --profile elsewhere)" 2
      profile=true; shift; continue ;;
  esac
  [[ $# -ge 2 ]] || die "$1 needs a value" 2
  case $1 in
    --rows) rows=$(positive --rows "$2") ;;
    --files) files=$(positive --files "$2") ;;
    --executors) executors=$(positive --executors "$2") ;;
    --iterations)
      [[ $2 == auto || ($2 =~ ^[0-9]+$ && ! $2 =~ ^0+$) ]] || die "--iterations needs auto or a whole number above zero, not '$2'" 2
      iterations=$2 ;;
    --engines)
      [[ $mode == local ]] || die "--engines is for the local pipeline" 2
      [[ $2 =~ ^(datafusion|ballista|duckdb)(,(datafusion|ballista|duckdb))*$ ]] ||
        die "--engines takes datafusion, ballista and duckdb, comma-separated, not '$2'" 2
      engines=$2 ;;
    --load-rates)
      [[ $mode == local || $action == bench || $action == render ]] ||
        die "--load-rates is for the local pipeline and for $mode bench" 2
      [[ $2 =~ ^[0-9]*\.?[0-9]+(,[0-9]*\.?[0-9]+)*$ && ! $2 =~ (^|,)0*\.?0*(,|$) ]] ||
        die "--load-rates takes requests per second above zero, comma-separated, not '$2'" 2
      load_rates=$2 ;;
    --load-duration)
      [[ $2 =~ ^[0-9]*\.?[0-9]+$ && ! $2 =~ ^0*\.?0*$ ]] || die "--load-duration needs seconds above zero, not '$2'" 2
      load_duration=$2 ;;
    --overlay) overlay=$2 ;;
    --image) image=$2 ;;
    --store)
      case $2 in volume | s3) store=$2 ;; *) die "--store is volume or s3, not '$2'" 2 ;; esac ;;
    --base) base=$2 ;;
    --scale)
      [[ $2 =~ ^[0-9]*\.?[0-9]+$ && ! $2 =~ ^0*\.?0*$ ]] || die "--scale needs a number above zero, not '$2'" 2
      scale=$2 ;;
    --storage-class) storage_class=$2 ;;
    --load) load=$2 ;;
    --bin-dir) bin_dir=$2 ;;
    --project)
      [[ $2 =~ ^[a-z0-9][a-z0-9_-]*$ ]] || die "--project needs lower-case letters, digits, - or _, not '$2'" 2
      project=$2 ;;
    *) die "unknown option $1 (--help lists them)" 2 ;;
  esac
  flag=${1#--}
  given+=("${flag//-/_}")
  shift 2
done
[[ $mode == k8s ]] && image=${image:-logbench}
image=${image:-logbench:dev}
# 40 files at the full scale; fewer for small datasets (at least 5M rows a file, at least 1).
if [[ -z $files ]]; then
  files=$(((rows + 4999999) / 5000000))
  ((files > 40)) && files=40
fi

target=${CARGO_TARGET_DIR:-target}
bin=${bin_dir:-$target/release}
stamp=$(date -u +%Y%m%dT%H%M%SZ)

# ---------------------------------------------------------------------------------- local
local_pipeline() {
  local data=data/logs-$rows run=deploy-$stamp state=.bench/deploy-cluster
  local result=results/$run.json report=results/$run
  command -v cargo >/dev/null || die "cargo not found: install Rust (https://rustup.rs)" 2

  step "build the release binaries (data-gen, bench-runner, logbench-scheduler, logbench-executor)" \
    run cargo build --release -p data-gen -p bench-runner -p logbench-cluster --bins
  local t_built
  t_built=$(date +%s.%N)
  step "dataset: $rows rows in $files files at $data (kept if its manifest matches)" \
    run "$bin/data-gen" --out "$data" --rows "$rows" --files "$files" --reuse
  local ballista=false cluster_args=()
  [[ ,$engines, == *,ballista,* ]] && ballista=true
  if [[ ,$engines, == *,duckdb,* ]]; then
    export LOGBENCH_VENV=${LOGBENCH_VENV:-${HOME:-/tmp}/.cache/logbench/venv}
    step "Python tools for DuckDB (pinned, scripts/ci/pytools.sh) in $LOGBENCH_VENV" \
      run scripts/ci/pytools.sh "$LOGBENCH_VENV"
  fi
  if $ballista; then
    # The cluster is stopped on every way out, success or failure.
    cluster_down() { run "$bin/bench-runner" cluster down --state-dir "$state" >/dev/null 2>&1 || true; }
    trap cluster_down EXIT
    step "start a local Ballista cluster: 1 scheduler, $executors executors" \
      run "$bin/bench-runner" cluster up --executors "$executors" --state-dir "$state"
    cluster_args=(--cluster-state-dir "$state")
  fi
  # Exit 1 from run means a query failed or the engines disagree: the result file says which,
  # and the report lists it. The pipeline goes on to write the report, then exits 1 itself.
  local bench_rc=0 profile_args=()
  $profile && profile_args=(--profile)
  bench() {
    run "$bin/bench-runner" run --data "$data" --engine "$engines" \
      "${cluster_args[@]}" --iterations "$iterations" --out "$result" "${profile_args[@]}" || {
      bench_rc=$?
      [[ $bench_rc -eq 1 && -f $result ]] && { log "some queries failed or disagreed: see the report"; return 0; }
      return $bench_rc
    }
  }
  local how="$iterations iterations each"
  [[ $iterations == auto ]] && how="each query until its median is known within ±2 %"
  step "run the workload (queries/) on ${engines//,/, then }, $how" bench
  local loads=() engine
  if [[ -n $load_rates ]]; then
    for engine in datafusion ballista; do
      [[ ,$engines, == *,$engine,* ]] || continue
      local out=results/$run.load-$engine.json
      loads+=("$out")
      sweep() { # ENGINE OUT: exit 1 (a request failed) still leaves its file for the report
        local args=(--data "$data" --engine "$1" --rate "$load_rates" --duration "$load_duration" --out "$2")
        [[ $1 == ballista ]] && args+=("${cluster_args[@]}")
        run "$bin/bench-runner" load "${args[@]}" || {
          local rc=$?
          [[ $rc -eq 1 && -f $2 ]] && { bench_rc=1; log "some requests failed under load: see the report"; return 0; }
          return $rc
        }
      }
      step "load sweep on $engine: $load_rates requests/s, $load_duration s each" sweep "$engine" "$out"
    done
  fi
  if $ballista; then
    step "stop the cluster" run "$bin/bench-runner" cluster down --state-dir "$state"
    trap - EXIT
  fi
  step "render the report" run "$bin/bench-runner" report "$result" "${loads[@]}" --out "$report"
  printf 'result:  %s\nreport:  %s/report.md\n         %s/report.html\ncharts:  %s/charts/\n' \
    "$result" "$report" "$report" "$report"
  $dry_run || log "after the build: $(elapsed "$t_built")"
  ((bench_rc == 0)) || die "done, but some queries failed or the engines disagreed (the report lists them)" 1
  log "done"
}

# What `up` was given, so that the other actions use the same cluster: KEY=VALUE lines, one
# per variable named. A value given again on the command line wins over the one recalled.
remember() { # FILE KEY...
  local file=$1 k
  shift
  mkdir -p "$(dirname "$file")"
  for k in "$@"; do printf '%s=%s\n' "$k" "${!k}"; done >"$file.tmp"
  mv "$file.tmp" "$file"
}
recall() { # FILE
  local k v
  while IFS='=' read -r k v; do
    [[ $k =~ ^[a-z_]+$ ]] || continue
    [[ " ${given[*]} " == *" $k "* ]] && continue
    # Files follow rows given anew (they were worked out from them).
    [[ $k == files && " ${given[*]} " == *" rows "* ]] && continue
    printf -v "$k" '%s' "$v"
  done <"$1"
}
k8s_keys=(overlay image executors rows files iterations scale storage_class base)
compose_keys=(executors rows files iterations store image scale)

# ------------------------------------------------------------------------------------ k8s
ns=logbench
generated=  # deploy/k8s/.generated/<context>: set by k8s()

kube() { run kubectl "$@"; }

# Python for the helpers under deploy/ (the venv's when LOGBENCH_VENV names one).
python() {
  local py=python3
  [[ -x ${LOGBENCH_VENV:-}/bin/python ]] && py=$LOGBENCH_VENV/bin/python
  "$py" "$@"
}

kube_context() { kubectl config current-context 2>/dev/null || true; }

# The image's name and tag: --image NAME[:TAG]. Without a tag, deploy/image.sh tags it with
# the commit and the binaries' content digest, so every build has its own tag.
image_tag() { [[ ${image##*/} == *:* ]] && printf '%s' "${image##*:}"; }

# The overlay with this run's parameters: executors, image, rows, iterations, run id, storage
# class. The run's parameters go to the logbench-run ConfigMap, which only the Jobs read.
write_kustomization() { # RUN-ID
  [[ -d deploy/k8s/overlays/$overlay ]] || die "no overlay deploy/k8s/overlays/$overlay" 2
  local name=${image%:*} tag
  tag=$(image_tag) || true
  [[ -n $tag ]] || { name=$image; tag=unbuilt; }
  mkdir -p "$generated"
  {
    cat <<EOK
# Written by deploy.sh $mode $action; not committed.
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../../overlays/$overlay
replicas:
  - name: logbench-executor
    count: $executors
images:
  - name: logbench
    newName: $name
    newTag: $tag
configMapGenerator:
  - name: logbench-run
    behavior: merge
    literals:
      - LOGBENCH_ROWS=$rows
      - LOGBENCH_FILES=$files
      - LOGBENCH_ITERATIONS=$iterations
      - LOGBENCH_RUN_ID=$1
      - LOGBENCH_IMAGE=$name:$tag
      - LOGBENCH_LOAD_RATES=${load_rates:-1}
      - LOGBENCH_LOAD_DURATION=$load_duration
EOK
    if [[ -n $storage_class ]]; then
      cat <<EOK
patches:
  - target:
      kind: PersistentVolumeClaim
    patch: |-
      - op: add
        path: /spec/storageClassName
        value: $storage_class
EOK
    fi
  } >"$generated/kustomization.yaml"
}

# The manifests to apply: rendered, and scaled by --scale (deploy/scale.py).
rendered() {
  if [[ $scale == 1 ]]; then
    kubectl kustomize "$generated"
  else
    kubectl kustomize "$generated" | python deploy/scale.py --scale "$scale"
  fi
}

# How the image reaches the cluster's nodes, from the nodes themselves (a renamed context is
# still kind, minikube or k3d), else from the context's name:
#   kind:CLUSTER  minikube:PROFILE  k3d:CLUSTER   loaded from an image archive (docker save)
#   shared        the node runs on this machine's Docker (Docker Desktop, Rancher Desktop
#                 with dockerd): nothing to load
#   push          any other cluster pulls it from a registry
#   none          no current context
# --load overrides it.
cluster_kind() {
  if [[ -n $load ]]; then
    printf '%s' "$load"
    return
  fi
  local ctx node provider mk
  ctx=$(kube_context)
  [[ -n $ctx ]] || { echo none; return; }
  IFS='|' read -r node provider mk < <(kubectl get nodes -o jsonpath='{range .items[*]}{.metadata.name}{"|"}{.spec.providerID}{"|"}{.metadata.labels.minikube\.k8s\.io/name}{"\n"}{end}' 2>/dev/null || true)
  if [[ $provider == kind://*/*/* ]]; then
    provider=${provider#kind://*/}
    echo "kind:${provider%%/*}"
  elif [[ -n $mk ]]; then
    echo "minikube:$mk"
  elif [[ $provider == k3s://k3d-* || $node == k3d-* ]]; then
    node=${node#k3d-}
    echo "k3d:${node%-*-*}"
  elif [[ $node == docker-desktop || $node == lima-rancher-desktop ]]; then
    echo shared
  else
    case $ctx in
      kind-*) echo "kind:${ctx#kind-}" ;;
      minikube) echo minikube:minikube ;;
      k3d-*) echo "k3d:${ctx#k3d-}" ;;
      docker-desktop | rancher-desktop) echo shared ;;
      *) echo push ;;
    esac
  fi
}

# The Linux architecture of the release binaries (their ELF header), as Docker names it; of
# this machine when they are not built yet (they will be built here).
binary_arch() {
  local m
  if [[ -f $bin/bench-runner ]]; then
    m=$(od -An -t x1 -j 18 -N 2 "$bin/bench-runner" | tr -d ' \n')
  else
    m=$(uname -m)
  fi
  case $m in
    3e00 | x86_64) echo amd64 ;; b700 | aarch64 | arm64) echo arm64 ;; *) echo "unknown($m)" ;;
  esac
}

# Refuses a cluster the image cannot run on, before anything is built or applied: nodes of
# another architecture, no StorageClass for the volumes, a push that would go to Docker Hub.
k8s_preflight() { # KIND
  case $1 in
    kind:?* | minikube:?* | k3d:?* | shared | push | none) ;;
    *) die "--load is kind:CLUSTER, minikube:PROFILE, k3d:CLUSTER, shared or push, not '$1'" 2 ;;
  esac
  local host=${image%%/*}
  if [[ $1 == push ]] && [[ $image != */* || ($host != *.* && $host != *:* && $host != localhost) ]]; then
    die "this cluster pulls its images from a registry: pass --image REGISTRY/NAME (docker push '$image' would go to Docker Hub)" 2
  fi
  [[ $1 == none ]] && return 0
  local arch archs
  arch=$(binary_arch)
  # A failing query is an error, never a skipped check.
  archs=$(kubectl get nodes -o jsonpath='{.items[*].status.nodeInfo.architecture}' 2>&1) ||
    die "reading the nodes' architecture failed (kubectl get nodes): ${archs##*$'\n'}" 2
  for a in $archs; do
    [[ $a == "$arch" ]] || die "the binaries in $bin are linux/$arch, but a node of this cluster is linux/$a: build for it (cargo build --release --target ...) and pass --bin-dir" 2
  done
  if [[ -z $storage_class ]]; then
    local defaults
    defaults=$(kubectl get storageclass -o jsonpath='{range .items[*]}{.metadata.annotations.storageclass\.kubernetes\.io/is-default-class}{"\n"}{end}' 2>/dev/null || true)
    grep -qx true <<<"$defaults" ||
      die "this cluster has no default StorageClass for the data volume (new EKS clusters have none): pass --storage-class NAME (kubectl get storageclass lists them)" 2
  fi
}

k8s_up() {
  local kind tag_file=${LOGBENCH_IMAGE_DIR:-.bench/image}/tag
  kind=$(cluster_kind)
  k8s_preflight "$kind"
  if [[ -z $bin_dir ]]; then
    step "build the release binaries" \
      run cargo build --release -p data-gen -p bench-runner -p logbench-cluster --bins
  fi
  step "build the image $image (deploy/image.sh, base: $base)" \
    run deploy/image.sh --tag "$image" --base "$base" --bin-dir "$bin" --tag-file "$tag_file"
  if $dry_run; then
    [[ -n $(image_tag) ]] || image=$image:COMMIT-DIGEST
  else
    image=$(cat "$tag_file")
  fi
  write_kustomization "k8s-$stamp"
  if $dry_run; then
    log "rendered manifests ($generated)"
    rendered
  else
    remember "$kdir/settings" "${k8s_keys[@]}"
  fi
  local archive=${LOGBENCH_IMAGE_DIR:-.bench/image}/image.tar
  case $kind in
    kind:* | minikube:* | k3d:*)
      step "save $image to $archive" run docker save -o "$archive" "$image"
      case $kind in
        kind:*) step "load $image into kind cluster ${kind#kind:}" run kind load image-archive "$archive" --name "${kind#kind:}" ;;
        minikube:*) step "load $image into minikube profile ${kind#minikube:}" run minikube -p "${kind#minikube:}" image load "$archive" ;;
        k3d:*) step "load $image into k3d cluster ${kind#k3d:}" run k3d image import "$archive" --cluster "${kind#k3d:}" ;;
      esac
      run rm -f "$archive"
      ;;
    shared) log "the cluster's node uses this machine's Docker images: $image needs no loading" ;;
    none) $dry_run || die "no current kubectl context: point kubectl at a cluster first" 2
      log "no current kubectl context (dry run): the image would be pushed" ;;
    push) step "push $image" run docker push "$image" ;;
  esac
  apply_part() { # PART
    if $dry_run; then
      printf "+ kubectl kustomize %s | kubectl apply -l 'logbench.io/part in (config,%s)' -f -\n" "$generated" "$1"
    else
      rendered | kubectl apply -l "logbench.io/part in (config,$1)" -f -
    fi
  }
  if rendered | grep -q 'name: logbench-s3$'; then
    step "the object store's credentials (Secret logbench-s3)" s3_secret
  fi
  # A Pod cannot be changed in place, and it must not hold the ReadWriteOnce volume on one node
  # while the scheduler is recreated on another: the results pod is made anew by every up.
  step "remove the results pod (applied again below)" \
    kube -n "$ns" delete pod logbench-results --ignore-not-found --wait=true
  step "apply the cluster (namespace, volumes, scheduler, $executors executors)" apply_part cluster
  if rendered | grep -q 'name: logbench-minio$'; then
    step "wait for the object store" kwait deployment logbench-minio 300
  fi
  step "wait for the scheduler" kwait deployment logbench-scheduler 300
  step "wait for the executors" kwait deployment logbench-executor 300
  $dry_run || log "cluster up: $executors executors, image $image"
}

# Waits for a Job or Deployment until it ends either way (deploy/kwait.py): on failure it has
# printed every container's state and last log lines. Sets job_exit to the main container's
# exit code, when there is one.
job_exit=
kwait() { # KIND NAME TIMEOUT
  if $dry_run; then
    printf '+ deploy/kwait.py -n %s %s %s --timeout %s\n' "$ns" "$1" "$2" "$3"
    return 0
  fi
  local out rc=0
  out=$(python deploy/kwait.py -n "$ns" "$1" "$2" --timeout "$3") || rc=$?
  job_exit=$(sed -n 's/^exit_code=//p' <<<"$out")
  return "$rc"
}

# The object store's credentials: see the multinode overlay. An existing Secret is kept (bring
# your own for an external store); otherwise one is made with random hex credentials, which
# never leave the cluster.
s3_secret() {
  if $dry_run; then
    printf '+ kubectl create namespace %s (unless it exists)\n' "$ns"
    printf '+ kubectl -n %s create secret generic logbench-s3 --from-literal=AWS_ACCESS_KEY_ID=<random> --from-literal=AWS_SECRET_ACCESS_KEY=<random> (unless it exists)\n' "$ns"
    return
  fi
  kubectl get namespace "$ns" >/dev/null 2>&1 || kubectl create namespace "$ns"
  if kubectl -n "$ns" get secret logbench-s3 >/dev/null 2>&1; then
    log "Secret logbench-s3 exists: kept"
    return
  fi
  local id key
  id=$(od -An -N10 -tx1 /dev/urandom | tr -d ' \n')
  key=$(od -An -N20 -tx1 /dev/urandom | tr -d ' \n')
  kubectl -n "$ns" create secret generic logbench-s3 \
    --from-literal=AWS_ACCESS_KEY_ID="$id" --from-literal=AWS_SECRET_ACCESS_KEY="$key" >/dev/null
  kubectl -n "$ns" label secret logbench-s3 logbench.io/part=cluster app.kubernetes.io/name=logbench >/dev/null
  log "Secret logbench-s3 created (random credentials)"
}

# Starts the Job of PART and waits until it completes or fails. Returns kwait's status.
k8s_job() { # PART TIMEOUT
  local part=$1 job=logbench-$1
  step "remove an earlier $job Job" kube -n "$ns" delete job "$job" --ignore-not-found --wait=true
  if $dry_run; then
    step "start $job" run sh -c "kubectl kustomize $generated | kubectl apply -l 'logbench.io/part in (config,$part)' -f -"
  else
    # shellcheck disable=SC2317 # called through step
    start() { rendered | kubectl apply -l "logbench.io/part in (config,$part)" -f -; }
    step "start $job" start
  fi
  step_no=$((step_no + 1))
  log "[$step_no] wait until $job completes or fails (at most $2 s)"
  kwait job "$job" "$2"
}

k8s_bench() {
  local id=k8s-$stamp rc=0
  write_kustomization "$id"
  $dry_run && rendered
  # The Jobs' own deadlines (activeDeadlineSeconds) are 3600 s and 7200 s: the waits last a
  # little longer, so that a Job that runs out of time is seen failing, with its logs.
  k8s_job data-gen 3660 || die "the data-gen Job did not complete (what its containers did is above)"
  k8s_job bench 7260 || rc=$?
  if ((rc != 0)) && [[ -z $job_exit ]]; then
    die "the bench Job did not run to an end (what its containers did is above)"
  fi
  local lrc=0 load_exit=
  if [[ -n $load_rates ]]; then
    # The load sweep: its own Job on the same cluster and dataset (DataFusion, then Ballista).
    local bench_exit=$job_exit
    k8s_job load 7260 || lrc=$?
    load_exit=$job_exit job_exit=$bench_exit
    ((lrc == 0)) || [[ -n $load_exit ]] || die "the load Job did not run to an end (what its containers did is above)"
  fi
  # bench-runner writes its result file before it exits 1 (a query failed, or the engines
  # disagreed): the file is copied and the report rendered whatever its exit code.
  ((rc == 0)) || log "bench-runner exited ${job_exit}: copying its result file anyway"
  (k8s_results "$id.json") || log "no result file copied (above: why)"
  case $job_exit in
    0 | "") ;;
    1) die "done, but some queries failed or the engines disagreed (bench-runner exited 1; the report lists them)" 1 ;;
    *) die "bench-runner exited $job_exit (its last log lines are above)" 1 ;;
  esac
  case $load_exit in
    0 | "") ;;
    1) die "done, but some requests failed under load (bench-runner load exited 1; the report shows them)" 1 ;;
    *) die "bench-runner load exited $load_exit (its last log lines are above)" 1 ;;
  esac
}

k8s_results() { # [FILE]: this run's result file, or the newest
  local newest=${1:-} local_file
  step "wait for the results pod" kube -n "$ns" wait --for=condition=Ready pod/logbench-results --timeout=120s
  if $dry_run; then
    run kubectl -n "$ns" exec logbench-results -- ls -t /data/results
    newest=${newest:-k8s-RUN.json}
  elif [[ -n $newest ]]; then
    kubectl -n "$ns" exec logbench-results -- ls /data/results | grep -qx "$newest" ||
      die "bench-runner wrote no result file /data/results/$newest"
  else
    newest=$(kubectl -n "$ns" exec logbench-results -- ls -t /data/results | grep -v '\.load-' | head -n 1 || true)
    [[ -n $newest ]] || die "no result file in /data/results yet: run ./deploy.sh k8s bench"
  fi
  local_file=results/$newest
  mkdir -p results
  # The run's file, and its load sweep's (RUN.load-ENGINE.json) where there are any.
  local f copy=("$newest") loads=() listing=
  $dry_run || listing=$(kubectl -n "$ns" exec logbench-results -- ls /data/results)
  for f in "${newest%.json}".load-{datafusion,ballista}.json; do
    if $dry_run; then
      [[ -n $load_rates ]] && copy+=("$f")
    else
      grep -qxF "$f" <<<"$listing" && copy+=("$f")
    fi
  done
  for f in "${copy[@]}"; do
    if $dry_run; then
      printf '+ kubectl -n %s exec logbench-results -- cat /data/results/%s > results/%s\n' "$ns" "$f" "$f"
    else
      kubectl -n "$ns" exec logbench-results -- cat "/data/results/$f" >"results/$f.tmp"
      mv "results/$f.tmp" "results/$f"
      log "copied results/$f"
    fi
    [[ $f == "$newest" ]] || loads+=("results/$f")
  done
  if [[ -z $bin_dir ]]; then
    step "build bench-runner for the report" run cargo build --release --workspace --bin bench-runner
  fi
  step "render the report" run "$bin/bench-runner" report "$local_file" "${loads[@]}" --out "results/${newest%.json}"
  printf 'result: %s\nreport: results/%s/report.html\n' "$local_file" "${newest%.json}"
}

k8s() {
  command -v kubectl >/dev/null || die "kubectl not found" 2
  local ctx
  ctx=$(kube_context)
  kdir=.bench/k8s-$(tr -c 'A-Za-z0-9._\n-' _ <<<"${ctx:-none}")
  generated=deploy/k8s/.generated/${kdir#.bench/k8s-}
  if [[ $action != up && -f $kdir/settings ]]; then
    recall "$kdir/settings"
  elif [[ $action != up && $action != status && $action != render ]] && ! $dry_run; then
    die "no cluster set up by ./deploy.sh k8s up for context '${ctx:-none}' here (its settings go to $kdir)" 2
  fi
  [[ $scale == 1 ]] || python -c 'import yaml' 2>/dev/null ||
    die "--scale needs Python 3 with PyYAML (scripts/ci/pytools.sh makes a venv; point LOGBENCH_VENV at it)" 2
  case $action in
    up) k8s_up ;;
    bench) k8s_bench ;;
    results) k8s_results ;;
    render) write_kustomization "${LOGBENCH_RUN_ID:-k8s-$stamp}"; rendered ;;
    down)
      write_kustomization down
      if $dry_run; then
        printf '+ kubectl kustomize %s | kubectl delete --ignore-not-found -f -\n' "$generated"
      else
        rendered | kubectl delete --ignore-not-found --wait=true -f -
      fi
      # Made by `up` outside the manifests (the namespace's deletion takes it too).
      kube -n "$ns" delete secret logbench-s3 --ignore-not-found
      $dry_run || rm -f "$kdir/settings"
      ;;
    status) kube -n "$ns" get pods,jobs,services,pvc -o wide ;;
  esac
}

# -------------------------------------------------------------------------------- compose
cdir=.bench/compose-$project
cfile=$cdir/compose.yaml

compose() {
  if docker compose version >/dev/null 2>&1; then
    run docker compose -p "$project" -f "$cfile" "$@"
  else
    run docker-compose -p "$project" -f "$cfile" "$@"
  fi
}

# bench, results, down and status use what `up` was given.
compose_settings() {
  local saved=$cdir/settings
  if [[ $action == up ]]; then
    $dry_run || remember "$saved" "${compose_keys[@]}"
    return
  fi
  [[ -f $saved ]] || { $dry_run && return; die "no cluster '$project' here: run ./deploy.sh compose up first" 2; }
  recall "$saved"
}

# The compose file for these settings (deploy/compose.py, from the Kubernetes manifests).
write_compose() { # RUN-ID
  local key=logbench:logbench-secret
  [[ -f $cdir/s3-key ]] && key=$(cat "$cdir/s3-key")
  if $dry_run; then
    printf '+ deploy/compose.py --executors %s --rows %s --files %s --iterations %s --run-id %s --store %s --image %s --project %s --scale %s --load-rates %s --load-duration %s > %s\n' \
      "$executors" "$rows" "$files" "$iterations" "$1" "$store" "$image" "$project" "$scale" "${load_rates:-1}" "$load_duration" "$cfile"
    return
  fi
  mkdir -p "$cdir"
  python deploy/compose.py --executors "$executors" --rows "$rows" --files "$files" \
    --iterations "$iterations" --run-id "$1" --store "$store" --image "$image" \
    --moto-image logbench-moto:dev --project "$project" --s3-key "$key" --scale "$scale" \
    --load-rates "${load_rates:-1}" --load-duration "$load_duration" >"$cfile.tmp"
  mv "$cfile.tmp" "$cfile"
}

compose_up() {
  local moto=()
  [[ $store == s3 ]] && moto=(--moto logbench-moto:dev)
  if [[ -z $bin_dir ]]; then
    step "build the release binaries" \
      run cargo build --release -p data-gen -p bench-runner -p logbench-cluster --bins
  fi
  step "build the image $image (deploy/image.sh, base: $base)" \
    run deploy/image.sh --tag "$image" --base "$base" --bin-dir "${bin_dir:-$bin}" "${moto[@]}"
  if [[ $store == s3 && ! -f $cdir/s3-key ]] && ! $dry_run; then
    # Random hex credentials for moto, kept with the settings (moto accepts any; real ones
    # never reach the compose file because there are none).
    mkdir -p "$cdir"
    printf '%s:%s' "$(od -An -N10 -tx1 /dev/urandom | tr -d ' \n')" \
      "$(od -An -N20 -tx1 /dev/urandom | tr -d ' \n')" >"$cdir/s3-key"
  fi
  write_compose up
  step "start the scheduler and $executors executors${moto:+ and the S3 server}" compose up -d
  step "wait until the scheduler has registered $executors executors" compose run --rm wait
  $dry_run || log "cluster '$project' up: $executors executors, data on the $store store"
}

compose_bench() {
  local id=compose-$stamp rc=0
  write_compose "$id"
  if [[ $store == s3 ]]; then
    step "create the bucket" compose run --rm bucket
    step "dataset: $rows rows in $files files (data-gen, into scratch space)" compose run --rm data-gen
    step "upload the dataset to the bucket (skipped when it is already there)" compose run --rm upload
  else
    step "dataset: $rows rows in $files files on the data volume (kept if its manifest matches)" \
      compose run --rm data-gen
  fi
  step "wait until the scheduler has registered $executors executors" compose run --rm wait
  log "[$((step_no + 1))] run the workload on DataFusion (in the runner's container), then on Ballista"
  step_no=$((step_no + 1))
  compose run --rm bench || rc=$?
  # 1: a query failed or the engines disagreed, and the result file says which.
  ((rc == 0 || rc == 1)) || die "bench-runner exited $rc (no result written)"
  if [[ -n $load_rates ]]; then
    local engine lrc
    for engine in datafusion ballista; do
      step_no=$((step_no + 1))
      log "[$step_no] load sweep on $engine: $load_rates requests/s, $load_duration s each"
      lrc=0
      compose run --rm "load-$engine" || lrc=$?
      # 1: a request failed under load; its file is written and the report shows it.
      ((lrc == 0 || lrc == 1)) || die "the load sweep on $engine exited $lrc"
      ((lrc == 0)) || rc=1
    done
  fi
  compose_results "$id"
  ((rc == 0)) || die "done, but some queries failed or the engines disagreed (the report lists them)" 1
}

compose_results() { # [RUN-ID]: that run's result files, or the newest run's
  local tmp newest loads=() f
  if $dry_run; then
    run docker cp "$project-scheduler:/data/results/." "$cdir/results"
    newest=${1:-compose-RUN}.json
    [[ -n $load_rates ]] && loads=("results/${newest%.json}.load-datafusion.json" "results/${newest%.json}.load-ballista.json")
  else
    tmp=$(mktemp -d)
    docker cp "$project-scheduler:/data/results/." "$tmp" >/dev/null 2>&1 || true
    if [[ -n ${1:-} ]]; then
      newest=$1.json
      [[ -f $tmp/$newest ]] || { rm -rf "$tmp"; die "bench-runner wrote no result file /data/results/$newest"; }
    else
      # The newest run by modification time (run ids are timestamps, but a copied-in file may
      # not be); a load sweep's files (RUN.load-ENGINE.json) go with their run.
      newest=$(find "$tmp" -maxdepth 1 -name '*.json' ! -name '*.load-*.json' -printf '%T@ %f\n' | sort -rn | head -n 1 | cut -d' ' -f2-)
      [[ -n $newest ]] || { rm -rf "$tmp"; die "no result file on the data volume yet: run ./deploy.sh compose bench"; }
    fi
    mkdir -p results
    for f in "$newest" "${newest%.json}".load-{datafusion,ballista}.json; do
      [[ -f $tmp/$f ]] || continue
      cp "$tmp/$f" "results/$f.tmp" && mv "results/$f.tmp" "results/$f"
      log "copied results/$f"
      [[ $f == "$newest" ]] || loads+=("results/$f")
    done
    rm -rf "$tmp"
  fi
  step "render the report" run "$bin/bench-runner" report "results/$newest" "${loads[@]}" --out "results/${newest%.json}"
  printf 'result: results/%s\nreport: results/%s/report.html\n' "$newest" "${newest%.json}"
}

compose_down() {
  [[ -f $cfile ]] || write_compose down
  step "remove the containers, networks and volumes of '$project'" compose down -v --remove-orphans --timeout 10
  # One-off containers (bench, trials) and anything else labelled with this project.
  if $dry_run; then
    printf '+ docker rm -f (every container labelled io.logbench.project=%s); the same for networks and volumes\n' "$project"
  else
    local ids label=label=io.logbench.project=$project
    mapfile -t ids < <(docker ps -aq --filter "$label")
    ((${#ids[@]} == 0)) || docker rm -f "${ids[@]}" >/dev/null
    mapfile -t ids < <(docker network ls -q --filter "$label")
    ((${#ids[@]} == 0)) || docker network rm "${ids[@]}" >/dev/null
    mapfile -t ids < <(docker volume ls -q --filter "$label")
    ((${#ids[@]} == 0)) || docker volume rm "${ids[@]}" >/dev/null
    rm -f "$cfile"
    log "cluster '$project' removed"
  fi
}

compose_main() {
  command -v docker >/dev/null || die "docker not found: compose mode needs a Docker Engine" 2
  $dry_run || docker info >/dev/null 2>&1 || die "no Docker daemon answers (docker info failed)" 2
  compose_settings
  case $action in
    up) compose_up ;;
    bench) compose_bench ;;
    results) compose_results ;;
    down) compose_down ;;
    status)
      [[ -f $cfile ]] || write_compose status
      compose ps
      compose run --rm wait bench-runner cluster executors --scheduler=logbench-scheduler:50050 --timeout=10
      ;;
  esac
}

case $mode in
  local) local_pipeline ;;
  compose) compose_main ;;
  k8s) k8s ;;
esac
