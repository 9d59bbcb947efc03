#!/usr/bin/env bash
# logbench's front door: the whole pipeline on this machine (the default), or a Ballista
# cluster on Kubernetes. `./deploy.sh --help` explains.
set -euo pipefail
cd "$(dirname "$0")"

usage() {
  cat <<'EOF'
Usage:
  ./deploy.sh [local] [--rows N] [--files N] [--executors N] [--iterations N] [--dry-run]
  ./deploy.sh compose up|bench|results|down|status [--executors N] [--rows N] [--files N]
              [--iterations N] [--store volume|s3] [--base local|public] [--project NAME]
              [--bin-dir DIR] [--dry-run]
  ./deploy.sh k8s up|bench|results|down|status [--executors N] [--rows N] [--files N]
              [--iterations N] [--overlay local|multinode] [--image NAME:TAG] [--dry-run]

local (the default): builds the release binaries; generates the dataset into data/logs-<rows>
  (kept when a valid one with the same parameters is there, checked against its manifest);
  starts a local Ballista cluster (a scheduler and --executors executors, separate processes
  on 127.0.0.1); runs the workload in queries/ on DataFusion and on Ballista; stops the cluster;
  writes results/<run>.json and the report (results/<run>/report.md, report.html, charts/).
  Defaults: --rows 200000000 --files 40 (the full scale; --rows scales down, files follow),
  --executors 2, --iterations 10.

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
  Defaults: --executors 2, --rows 200000000, --project logbench.

k8s: against the current kubectl context (namespace logbench).
  up       build the image (docker), load it into kind or minikube when the context is one,
           apply the manifests (deploy/k8s/overlays/<overlay>), wait for the rollouts
  bench    run the data-gen Job, then the bench-runner Job (again on every call), then results
  results  copy the newest result file into results/ and render its report
  down     delete everything `up` created
  status   pods, jobs, services and the volume
  Defaults: --overlay local, --image logbench:dev, --executors 2.
  Overlays: local (one node, kind or minikube: the data on a hostPath volume); multinode (the
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
  local name=$1
  shift
  step_no=$((step_no + 1))
  log "[$step_no] $name"
  if ! "$@"; then
    die "step $step_no ($name) failed; finished artifacts are kept"
  fi
}

positive() { # NAME VALUE: a whole number above zero, underscores and k/M/G allowed for rows
  local v=${2//_/}
  case $v in
    *[kK]) v=$((${v%?} * 1000)) ;;
    *[mM]) v=$((${v%?} * 1000000)) ;;
    *[gG]) v=$((${v%?} * 1000000000)) ;;
  esac
  if ! [[ $v =~ ^[0-9]+$ ]] || ((v == 0)); then
    die "$1 needs a whole number above zero, not '$2'" 2
  fi
  printf '%s' "$v"
}

mode=local
action=
rows=200000000
files=
executors=2
iterations=10
overlay=local
image=logbench:dev
store=volume
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
    case $action in up | bench | results | down | status) ;; *) die "unknown $mode action '$action'" 2 ;; esac
    ;;
  help) usage; exit 0 ;;
  *) die "unknown mode '$mode' (local, compose or k8s; --help explains)" 2 ;;
esac
while [[ $# -gt 0 ]]; do
  case $1 in
    -h | --help) usage; exit 0 ;;
    --dry-run) dry_run=true; shift; continue ;;
  esac
  [[ $# -ge 2 ]] || die "$1 needs a value" 2
  case $1 in
    --rows) rows=$(positive --rows "$2") ;;
    --files) files=$(positive --files "$2") ;;
    --executors) executors=$(positive --executors "$2") ;;
    --iterations) iterations=$(positive --iterations "$2") ;;
    --overlay) overlay=$2 ;;
    --image) image=$2 ;;
    --store)
      case $2 in volume | s3) store=$2 ;; *) die "--store is volume or s3, not '$2'" 2 ;; esac ;;
    --base) base=$2 ;;
    --bin-dir) bin_dir=$2 ;;
    --project)
      [[ $2 =~ ^[a-z0-9][a-z0-9_-]*$ ]] || die "--project needs lower-case letters, digits, - or _, not '$2'" 2
      project=$2 ;;
    *) die "unknown option $1 (--help lists them)" 2 ;;
  esac
  given+=("${1#--}")
  shift 2
done
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
  step "dataset: $rows rows in $files files at $data (kept if its manifest matches)" \
    run "$bin/data-gen" --out "$data" --rows "$rows" --files "$files" --reuse
  # The cluster is stopped on every way out, success or failure.
  cluster_down() { run "$bin/bench-runner" cluster down --state-dir "$state" >/dev/null 2>&1 || true; }
  trap cluster_down EXIT
  step "start a local Ballista cluster: 1 scheduler, $executors executors" \
    run "$bin/bench-runner" cluster up --executors "$executors" --state-dir "$state"
  # Exit 1 from run means a query failed or the engines disagree: the result file says which,
  # and the report lists it. The pipeline goes on to write the report, then exits 1 itself.
  local bench_rc=0
  bench() {
    run "$bin/bench-runner" run --data "$data" --engine datafusion,ballista \
      --cluster-state-dir "$state" --iterations "$iterations" --out "$result" || {
      bench_rc=$?
      [[ $bench_rc -eq 1 && -f $result ]] && { log "some queries failed or disagreed: see the report"; return 0; }
      return $bench_rc
    }
  }
  step "run the workload (queries/) on DataFusion, then on Ballista, $iterations iterations each" bench
  step "stop the cluster" run "$bin/bench-runner" cluster down --state-dir "$state"
  trap - EXIT
  step "render the report" run "$bin/bench-runner" report "$result" --out "$report"
  printf 'result:  %s\nreport:  %s/report.md\n         %s/report.html\ncharts:  %s/charts/\n' \
    "$result" "$report" "$report" "$report"
  ((bench_rc == 0)) || die "done, but some queries failed or the engines disagreed (the report lists them)" 1
  log "done"
}

# ------------------------------------------------------------------------------------ k8s
ns=logbench
generated=deploy/k8s/.generated

kube() { run kubectl "$@"; }

# The overlay with this run's parameters: executors, image, rows, iterations.
write_kustomization() {
  [[ -d deploy/k8s/overlays/$overlay ]] || die "no overlay deploy/k8s/overlays/$overlay" 2
  local name=${image%:*} tag=${image##*:}
  [[ $image == *:* ]] || tag=latest
  mkdir -p "$generated"
  cat >"$generated/kustomization.yaml" <<EOF
# Written by deploy.sh $mode $action; not committed.
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../overlays/$overlay
replicas:
  - name: logbench-executor
    count: $executors
images:
  - name: logbench
    newName: $name
    newTag: $tag
configMapGenerator:
  - name: logbench-config
    behavior: merge
    literals:
      - LOGBENCH_ROWS=$rows
      - LOGBENCH_FILES=$files
      - LOGBENCH_ITERATIONS=$iterations
      - LOGBENCH_RUN_ID=k8s-$stamp
EOF
}

rendered() { kubectl kustomize "$generated"; }

# kind-* and minikube contexts get the image loaded into their nodes; others pull it.
context_kind() {
  local ctx
  ctx=$(kubectl config current-context 2>/dev/null || true)
  case $ctx in
    kind-*) echo "kind:${ctx#kind-}" ;;
    minikube) echo minikube ;;
    "") echo none ;;
    *) echo "registry:$ctx" ;;
  esac
}

k8s_up() {
  write_kustomization
  if $dry_run; then
    log "rendered manifests ($generated)"
    rendered
  fi
  local kind
  kind=$(context_kind)
  if [[ -z $bin_dir ]]; then
    step "build the release binaries" \
      run cargo build --release -p data-gen -p bench-runner -p logbench-cluster --bins
  fi
  step "build the image $image (deploy/image.sh, base: $base)" \
    run deploy/image.sh --tag "$image" --base "$base" --bin-dir "$bin"
  case $kind in
    kind:*) step "load $image into kind cluster ${kind#kind:}" run kind load docker-image "$image" --name "${kind#kind:}" ;;
    minikube) step "load $image into minikube" run minikube image load "$image" ;;
    none) $dry_run || die "no current kubectl context: point kubectl at a cluster first" 2
      log "no current kubectl context (dry run): the image would be pushed" ;;
    *) step "push $image (context ${kind#registry:} pulls it)" run docker push "$image" ;;
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
  step "apply the cluster (namespace, volumes, scheduler, $executors executors)" apply_part cluster
  if rendered | grep -q 'name: logbench-minio$'; then
    step "wait for the object store" kube -n "$ns" rollout status deploy/logbench-minio --timeout=300s
  fi
  step "wait for the scheduler" kube -n "$ns" rollout status deploy/logbench-scheduler --timeout=300s
  step "wait for the executors" kube -n "$ns" rollout status deploy/logbench-executor --timeout=300s
}

# The overlay that keeps the dataset in an object store reads its credentials from the Secret
# logbench-s3. An existing one is kept (bring your own for an external store); otherwise one
# is made with random hex credentials, which never leave the cluster.
s3_secret() {
  if $dry_run; then
    printf '+ kubectl create namespace %s (unless it exists)
' "$ns"
    printf '+ kubectl -n %s create secret generic logbench-s3 --from-literal=AWS_ACCESS_KEY_ID=<random> --from-literal=AWS_SECRET_ACCESS_KEY=<random> (unless it exists)
' "$ns"
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

k8s_job() { # PART TIMEOUT
  local part=$1 timeout=$2 job=logbench-$1
  step "remove an earlier $job Job" kube -n "$ns" delete job "$job" --ignore-not-found --wait=true
  if $dry_run; then
    step "start $job" run sh -c "kubectl kustomize $generated | kubectl apply -l 'logbench.io/part in (config,$part)' -f -"
  else
    # shellcheck disable=SC2317 # called through step
    start() { rendered | kubectl apply -l "logbench.io/part in (config,$part)" -f -; }
    step "start $job" start
  fi
  if ! kube -n "$ns" wait --for=condition=complete "job/$job" --timeout="$timeout"; then
    kubectl -n "$ns" logs "job/$job" --tail=20 >&2 || true
    die "$job did not complete (its last log lines are above)"
  fi
}

k8s_results() {
  local newest local_file
  step "wait for the results pod" kube -n "$ns" wait --for=condition=Ready pod/logbench-results --timeout=120s
  if $dry_run; then
    run kubectl -n "$ns" exec logbench-results -- ls -t /data/results
    newest=k8s-RUN.json
  else
    newest=$(kubectl -n "$ns" exec logbench-results -- ls -t /data/results | head -n 1)
    [[ -n $newest ]] || die "no result file in /data/results yet: run ./deploy.sh k8s bench"
  fi
  local_file=results/$newest
  mkdir -p results
  if $dry_run; then
    printf '+ kubectl -n %s exec logbench-results -- cat /data/results/%s > %s\n' "$ns" "$newest" "$local_file"
  else
    kubectl -n "$ns" exec logbench-results -- cat "/data/results/$newest" >"$local_file.tmp"
    mv "$local_file.tmp" "$local_file"
  fi
  $dry_run || log "copied $local_file"
  step "build bench-runner for the report" run cargo build --release --workspace --bin bench-runner
  step "render the report" run "$bin/bench-runner" report "$local_file" --out "results/${newest%.json}"
  printf 'result: %s\nreport: results/%s/report.html\n' "$local_file" "${newest%.json}"
}

k8s() {
  command -v kubectl >/dev/null || die "kubectl not found" 2
  case $action in
    up) k8s_up ;;
    bench)
      write_kustomization
      $dry_run && rendered
      k8s_job data-gen 3600s
      k8s_job bench 7200s
      k8s_results
      ;;
    results) k8s_results ;;
    down)
      write_kustomization
      if $dry_run; then
        printf '+ kubectl kustomize %s | kubectl delete --ignore-not-found -f -\n' "$generated"
      else
        rendered | kubectl delete --ignore-not-found --wait=true -f -
      fi
      # Made by `up` outside the manifests (the namespace's deletion takes it too).
      kube -n "$ns" delete secret logbench-s3 --ignore-not-found
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

# What `up` was given, so that bench, results, down and status use the same cluster; a value
# given again on their command line wins.
compose_settings() {
  local saved=$cdir/settings k v
  if [[ $action == up ]]; then
    $dry_run && return
    mkdir -p "$cdir"
    printf 'executors=%s\nrows=%s\nfiles=%s\niterations=%s\nstore=%s\nimage=%s\n' \
      "$executors" "$rows" "$files" "$iterations" "$store" "$image" >"$saved.tmp"
    mv "$saved.tmp" "$saved"
    return
  fi
  [[ -f $saved ]] || { $dry_run && return; die "no cluster '$project' here: run ./deploy.sh compose up first" 2; }
  while IFS='=' read -r k v; do
    [[ " ${given[*]} " == *" $k "* ]] && continue
    case $k in
      executors) executors=$v ;; rows) rows=$v ;; files) files=$v ;;
      iterations) iterations=$v ;; store) store=$v ;; image) image=$v ;;
    esac
  done <"$saved"
}

# The compose file for these settings (deploy/compose.py, from the Kubernetes manifests).
write_compose() { # RUN-ID
  local py=python3
  [[ -x ${LOGBENCH_VENV:-}/bin/python ]] && py=$LOGBENCH_VENV/bin/python
  local key=logbench:logbench-secret
  [[ -f $cdir/s3-key ]] && key=$(cat "$cdir/s3-key")
  if $dry_run; then
    printf '+ deploy/compose.py --executors %s --rows %s --files %s --iterations %s --run-id %s --store %s --image %s --project %s > %s\n' \
      "$executors" "$rows" "$files" "$iterations" "$1" "$store" "$image" "$project" "$cfile"
    return
  fi
  mkdir -p "$cdir"
  "$py" deploy/compose.py --executors "$executors" --rows "$rows" --files "$files" \
    --iterations "$iterations" --run-id "$1" --store "$store" --image "$image" \
    --moto-image logbench-moto:dev --project "$project" --s3-key "$key" >"$cfile.tmp"
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
  compose_results
  ((rc == 0)) || die "done, but some queries failed or the engines disagreed (the report lists them)" 1
}

compose_results() {
  local tmp newest
  if $dry_run; then
    run docker cp "$project-scheduler:/data/results/." "$cdir/results"
    newest=compose-RUN.json
  else
    tmp=$(mktemp -d)
    docker cp "$project-scheduler:/data/results/." "$tmp" >/dev/null 2>&1 || true
    # The newest by modification time (run ids are timestamps, but a copied-in file may not be).
    newest=$(find "$tmp" -maxdepth 1 -name '*.json' -printf '%T@ %f\n' | sort -rn | head -n 1 | cut -d' ' -f2-)
    [[ -n $newest ]] || { rm -rf "$tmp"; die "no result file on the data volume yet: run ./deploy.sh compose bench"; }
    mkdir -p results
    cp "$tmp/$newest" "results/$newest.tmp" && mv "results/$newest.tmp" "results/$newest"
    rm -rf "$tmp"
    log "copied results/$newest"
  fi
  step "render the report" run "$bin/bench-runner" report "results/$newest" --out "results/${newest%.json}"
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
