#!/usr/bin/env bash
# End-to-end suite: ecrbase against the real stack on one machine.
#
#   "Docker Hub"   docker-registry on loopback HTTP, behind internal/hubproxy
#                  (Docker Hub's rate-limit headers, 429 on demand)
#   "ECR"          docker-registry at 123456789012.dkr.ecr.us-east-1.amazonaws.com:443
#                  (/etc/hosts, TLS from a CA made here, htpasswd auth)
#   ECR + STS API  moto_server
#   docker build   dockerd (vfs) with BuildKit, /usr/bin/docker
#
# It installs what is missing (apt), starts everything itself, seeds the
# upstream with images it makes (e2e/seed), and runs on a copy of examples/:
#
#   0  the stack alone: docker build FROM an image in "ECR", # syntax= included
#   1  cold mirror of every Dockerfile: digests equal upstream's (registry API),
#      repositories in the ECR API with scan-on-push, the --json report agrees
#   2  warm re-run: no manifest GET upstream, every image up-to-date
#   3  a tag moves upstream: only that image is copied again
#   4  rewrite -w, then docker build $(ecrbase build-args) of every example,
#      RUN steps included, with no request to the upstream
#   5  Docker Hub answers 429 (or is down) while ECR has the images: mirror
#      warns and exits 0, builds still work; an image ECR lacks: exit != 0
#   6  pre-commit: rewrite --check exits 3, then 0 once converted
#   7  mirror --rewrite --pin, then docker build
#   8  compose: one mirror --rewrite converts a Dockerfile and a compose file;
#      docker-compose config resolves every image of every rewritten compose
#      example to ECR; docker-compose pull and docker build send nothing upstream
#   9  faults: 429 forever with a short Retry-After (image in ECR or not), a
#      hanging source, a tampered manifest, a pull budget an index exceeds
#  10  zero counted pulls: a cold mirror reading every image by digest from a
#      content source (a second docker-registry) spends no pull upstream,
#      then docker build from ECR
#  11  an ARG-held name, an image given by --build-arg and a broken template:
#      mirror --rewrite copies and rewrites the rest and exits 1; both build
#  12  ecrbase's own image: its Go image (made from this machine's Go) comes
#      from the upstream's public.ecr.aws, mirror --rewrite, docker build with
#      modules from a loopback file server of the module cache, then
#      --version and a non-root user in the image
#  13  many builds at once: E2E_MANY (20) mirror processes started together on
#      overlapping catalogues (--images-from) all exit 0, digests correct
#
# It prints a summary on stdout (figures per scenario, then "e2e: N passed,
# N failed"), and ends only the processes it started. Run as root:
#   bash scripts/e2e.sh
# E2E_KEEP=1 keeps the temporary folder for a look after the run;
# E2E_STAGE=stack stops after scenario 0; E2E_STAGE=demo runs the main job on
# examples/python-app instead of the scenarios (scripts/demo.sh).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ACCOUNT=123456789012
REGION=us-east-1
ECR_HOST=$ACCOUNT.dkr.ecr.$REGION.amazonaws.com
ECR_USER=AWS
# The password moto's GetAuthorizationToken hands out; ecrbase must read it
# from moto, the registry and docker login are given it here.
ECR_PASSWORD=$ACCOUNT-auth-token
CA_DEST=/usr/local/share/ca-certificates/ecrbase-e2e.crt
LOCK=/tmp/ecrbase-e2e.lock
export PATH=$PATH:/usr/local/go/bin:/usr/sbin:/sbin
export DOCKER_BUILDKIT=1
DOCKER=/usr/bin/docker # Debian's client has BuildKit built in; a newer one may not

START=$(date +%s.%N)
PIDS=()
FAILURES=()
SUMMARY=()
TMP=""
CA_INSTALLED=""
CURRENT=""
PRINTED=""

log() { printf '[e2e %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
	log "FATAL: $*"
	FAILURES+=("aborted: $*")
	SUMMARY+=("$(printf '%-26s %-4s %s' "${CURRENT:-setup}" FAIL aborted)")
	exit 1
}
# fail records a failed check and lets the scenario go on.
fail() {
	log "FAIL: $*"
	FAILURES+=("$*")
}
pass() { log "ok: $*"; }

elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

print_summary() {
	local failed
	PRINTED=1
	failed=$(printf '%s\n' "${SUMMARY[@]}" | awk '$0 ~ / FAIL / { n++ } END { print n + 0 }')
	echo
	echo "ecrbase end-to-end (${#SUMMARY[@]} scenarios). bytes, GETs and HEADs: what the upstream (\"Docker Hub\") served in"
	echo "the scenario, from its access log: bytes of GET answers, manifest GETs (counted pulls), manifest HEADs."
	printf '%-26s %-4s %6s %10s %5s %5s %7s  %s\n' scenario res images bytes GETs HEADs seconds "other figures: upstream blob GETs, 429/5xx answers injected by the proxy, ECR registry requests"
	printf '%s\n' "${SUMMARY[@]}"
	if ((${#FAILURES[@]} > 0)); then
		echo "${#FAILURES[@]} checks failed:"
		printf '  - %s\n' "${FAILURES[@]}"
	fi
	echo "total $(elapsed "$START")s"
	echo "e2e: $((${#SUMMARY[@]} - failed)) passed, $failed failed"
}

# ---------------------------------------------------------------- cleanup

stop_pid() {
	local pid=$1 i
	kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.2
	done
	if kill -0 "$pid" 2>/dev/null; then
		log "pid $pid did not stop on TERM; killing it"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
}

cleanup() {
	local rc=$?
	set +e
	trap - EXIT INT TERM
	local i
	cd /
	if ((rc != 0)) && [[ -z $PRINTED ]]; then
		print_summary
	fi
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
		stop_pid "${PIDS[i]}"
	done
	if [[ -n $CA_INSTALLED ]]; then
		rm -f "$CA_DEST"
		update-ca-certificates >/dev/null 2>&1
	fi
	if [[ -n $TMP && -d $TMP ]]; then
		if ((rc != 0)); then
			# What ecrbase and the builds said; the servers' logs stay in $TMP (E2E_KEEP=1).
			for f in "$TMP"/logs/s*.err "$TMP"/logs/images.err; do
				[[ -s $f ]] || continue
				log "last lines of $f:"
				tail -n 5 "$f" | sed 's/^/    /' >&2
			done
		fi
		if [[ ${E2E_KEEP:-} == 1 ]]; then
			log "kept $TMP"
		else
			# dockerd may leave mounts behind in its roots.
			awk -v t="$TMP" 'index($2, t) == 1 { print $2 }' /proc/mounts | sort -r | xargs -r umount -l 2>/dev/null
			rm -rf "$TMP"
		fi
	fi
	exit "$rc"
}

# ---------------------------------------------------------------- setup

[[ $(id -u) == 0 ]] || die "run as root: the suite installs packages, binds port 443 and edits /etc/hosts and the CA store"

exec 9>"$LOCK"
flock -w 900 9 || die "another e2e run still holds $LOCK"

install_packages() {
	local need=()
	[[ -x /usr/sbin/dockerd && -x /usr/bin/docker ]] || need+=(docker.io)
	command -v docker-registry >/dev/null || need+=(docker-registry)
	command -v htpasswd >/dev/null || need+=(apache2-utils)
	dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'ok installed' || need+=(busybox-static)
	command -v update-ca-certificates >/dev/null || need+=(ca-certificates)
	command -v openssl >/dev/null || need+=(openssl)
	command -v curl >/dev/null || need+=(curl)
	command -v jq >/dev/null || need+=(jq)
	command -v docker-compose >/dev/null || need+=(docker-compose)
	command -v flock >/dev/null || need+=(util-linux)
	command -v ss >/dev/null || need+=(iproute2)
	((${#need[@]} == 0)) && return 0
	log "installing ${need[*]}"
	apt-get update -qq </dev/null >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" </dev/null >&2
}
install_packages
# moto comes with the machine, under pyenv when PATH does not say so.
for d in "${HOME:-/root}/.pyenv/shims" /root/.pyenv/shims; do
	command -v moto_server >/dev/null || [[ ! -x $d/moto_server ]] || PATH=$PATH:$d
done
command -v moto_server >/dev/null || die "moto_server not found (moto with its server extra)"
command -v go >/dev/null || die "go not found"

TMP=$(mktemp -d /tmp/ecrbase-e2e.XXXXXX)
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir -p "$TMP"/{bin,logs,tls,ecr-data,upstream-data,docker-config,work}
LOGS=$TMP/logs
log "work folder $TMP"

# A free TCP port on 127.0.0.1 (others may run their own stacks here).
# Ports come from below the kernel's ephemeral range (32768 and up by
# default), so an outgoing connection never holds the port a server is about
# to bind; a port any socket uses, in any state, is skipped.
free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 12000))
		[[ -z $(ss -Htan "sport = :$p") ]] && echo "$p" && return
	done
}

# wait_until DESCRIPTION SECONDS COMMAND...: polls COMMAND every 0.2s.
wait_until() {
	local what=$1 secs=$2 i
	shift 2
	for ((i = 0; i < secs * 5; i++)); do
		if "$@" >/dev/null 2>&1; then return 0; fi
		sleep 0.2
	done
	die "$what not ready after ${secs}s"
}

# start NAME COMMAND...: runs COMMAND in the background, stdout to
# logs/NAME.out and stderr to logs/NAME.err, and remembers its pid.
start() {
	local name=$1
	shift
	"$@" >"$LOGS/$name.out" 2>"$LOGS/$name.err" </dev/null 9>&- &
	PIDS+=("$!")
}

# Everything ecrbase and the helpers may read from the environment is set
# here, and nothing from the caller's AWS or Docker setup leaks in.
for v in $(compgen -e); do
	case $v in ECRBASE_* | AWS_* | CODEBUILD_* | DOCKERHUB_* | DOCKER_HOST | DOCKER_CONFIG | DOCKER_CERT_PATH | DOCKER_TLS_VERIFY | SSL_CERT_FILE | SSL_CERT_DIR) unset "$v" ;; esac
done
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=$REGION
export AWS_CONFIG_FILE=$TMP/aws-config AWS_SHARED_CREDENTIALS_FILE=$TMP/aws-credentials
export AWS_EC2_METADATA_DISABLED=true
export DOCKER_CONFIG=$TMP/docker-config
export DOCKER_HOST=unix://$TMP/docker.sock

# --- binaries
t=$(date +%s.%N)
log "building the suite's helpers"
# The helpers are modules of their own (e2e/go.mod, internal/hubproxy/cmd/go.mod),
# outside the module pre-commit installs.
(cd "$ROOT" && go -C e2e build -o "$TMP/bin/" ./seed ./ecrrepos && go -C internal/hubproxy/cmd build -o "$TMP/bin/" ./hubproxy) ||
	die "go build of the helpers failed"
# A "# syntax=" line makes BuildKit pull and run a real frontend image.
(cd "$ROOT/e2e/frontend" && CGO_ENABLED=0 go build -o "$TMP/bin/dockerfile-frontend" github.com/moby/buildkit/frontend/dockerfile/cmd/dockerfile-frontend) ||
	die "building the Dockerfile frontend failed"
SEED=$TMP/bin/seed
log "helpers built in $(elapsed "$t")s"

# --- TLS for "ECR": a CA of our own, trusted system-wide before dockerd starts
t=$(date +%s.%N)
(
	cd "$TMP/tls"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=ecrbase e2e CA" -keyout ca.key -out ca.crt 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -subj "/CN=$ECR_HOST" -keyout srv.key -out srv.csr 2>/dev/null
	printf 'subjectAltName=DNS:%s\n' "$ECR_HOST" >ext
	openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile ext -out srv.crt 2>/dev/null
)
cp "$TMP/tls/ca.crt" "$CA_DEST"
CA_INSTALLED=1
update-ca-certificates >/dev/null 2>&1 || die "update-ca-certificates failed"
if ! grep -Eq "^[^#]*[[:space:]]$ECR_HOST([[:space:]]|$)" /etc/hosts; then
	echo "127.0.0.1 $ECR_HOST" >>/etc/hosts
fi
ECR_IP=$(getent ahostsv4 "$ECR_HOST" | awk 'NR == 1 { print $1 }')
[[ $ECR_IP == 127.* ]] || die "$ECR_HOST resolves to '$ECR_IP', not to a loopback address"
[[ -z $(ss -Htln "sport = :443" | awk -v ip="$ECR_IP" '$4 == ip":443" || $4 == "0.0.0.0:443" || $4 == "*:443" || $4 == "[::]:443"') ]] ||
	die "port 443 on $ECR_IP is taken by another process; the ECR registry needs it"
htpasswd -Bbn "$ECR_USER" "$ECR_PASSWORD" >"$TMP/htpasswd" 2>/dev/null
# curl reads the ECR credentials from a file, so they never show in ps.
printf 'user = "%s:%s"\n' "$ECR_USER" "$ECR_PASSWORD" >"$TMP/curl-ecr.conf"
chmod 600 "$TMP/curl-ecr.conf"

# --- moto: ECR and STS APIs
MOTO_PORT=$(free_port)
start moto moto_server -H 127.0.0.1 -p "$MOTO_PORT"
export AWS_ENDPOINT_URL_ECR=http://127.0.0.1:$MOTO_PORT AWS_ENDPOINT_URL_STS=http://127.0.0.1:$MOTO_PORT

# --- the two registries, access logs on (stdout)
cat >"$TMP/ecr.yml" <<EOF
version: 0.1
log: {level: warn, accesslog: {disabled: false}}
storage: {filesystem: {rootdirectory: $TMP/ecr-data}, delete: {enabled: true}}
http: {addr: "$ECR_IP:443", secret: e2e-ecr, tls: {certificate: $TMP/tls/srv.crt, key: $TMP/tls/srv.key}}
auth: {htpasswd: {realm: ecr, path: $TMP/htpasswd}}
EOF
UP_PORT=$(free_port)
cat >"$TMP/upstream.yml" <<EOF
version: 0.1
log: {level: warn, accesslog: {disabled: false}}
storage: {filesystem: {rootdirectory: $TMP/upstream-data}, delete: {enabled: true}}
http: {addr: "127.0.0.1:$UP_PORT", secret: e2e-upstream}
EOF
start ecr-registry docker-registry serve "$TMP/ecr.yml"
start upstream-registry docker-registry serve "$TMP/upstream.yml"
ECR_LOG=$LOGS/ecr-registry.out
UP_LOG=$LOGS/upstream-registry.out
UP_URL=http://127.0.0.1:$UP_PORT

# --- hubproxy in front of the upstream: this is what ecrbase sees as Docker Hub
start hubproxy "$TMP/bin/hubproxy" -listen 127.0.0.1:0 -upstream "$UP_URL" -limit 100
wait_until "hubproxy" 20 test -s "$LOGS/hubproxy.out"
PROXY=$(head -n 1 "$LOGS/hubproxy.out")

wait_until "moto_server" 60 curl -fs "http://127.0.0.1:$MOTO_PORT/moto-api/"
wait_until "upstream registry" 30 curl -fs "$UP_URL/v2/"
wait_until "ECR registry" 30 curl -fsK "$TMP/curl-ecr.conf" "https://$ECR_HOST/v2/"
wait_until "hubproxy" 20 curl -fs "$PROXY/_hubproxy/stats"
[[ $(curl -s -o /dev/null -w '%{http_code}' "https://$ECR_HOST/v2/") == 401 ]] ||
	die "the ECR registry lets unauthenticated requests in"

# --- dockerd, after the CA is in the system store (BuildKit reads it at start)
start dockerd dockerd --storage-driver=vfs --data-root "$TMP/docker" --exec-root "$TMP/dx" \
	--pidfile "$TMP/dockerd.pid" -H "$DOCKER_HOST" --bridge=none --iptables=false
wait_until "dockerd" 60 "$DOCKER" info
printf '%s' "$ECR_PASSWORD" | "$DOCKER" login -u "$ECR_USER" --password-stdin "$ECR_HOST" >"$LOGS/docker-login.log" 2>&1 ||
	die "docker login $ECR_HOST failed (see $LOGS/docker-login.log)"
log "stack up in $(elapsed "$t")s: moto :$MOTO_PORT, upstream :$UP_PORT, proxy $PROXY, ECR https://$ECR_HOST"

# ---------------------------------------------------------------- measuring

# mark starts a measured window: log positions, proxy counters, clock.
mark() {
	sleep 0.3 # the registries write an access line after the answer
	MARK_UP=$(wc -l <"$UP_LOG")
	MARK_ECR=$(wc -l <"$ECR_LOG")
	curl -fs -X POST "$PROXY/_hubproxy/reset" >/dev/null
	MARK_T=$(date +%s.%N)
}

# measure ends it and sets:
#   UP_REQ UP_GET UP_HEAD UP_BLOB_GET UP_BYTES   upstream access log (all requests,
#                                                manifest GETs/HEADs, blob GETs, bytes sent)
#   ECR_REQ ECR_GET ECR_PUT                      ECR access log (all, manifest GETs, manifest PUTs)
#   PX_GET PX_HEAD PX_PULLS PX_FAULTS            hubproxy counters
#   SECS                                         seconds since mark
measure() {
	SECS=$(elapsed "$MARK_T")
	sleep 0.3
	tail -n +$((MARK_UP + 1)) "$UP_LOG" >"$TMP/window-up.log"
	tail -n +$((MARK_ECR + 1)) "$ECR_LOG" >"$TMP/window-ecr.log"
	read -r UP_REQ UP_GET UP_HEAD UP_BLOB_GET UP_BYTES < <(awk '
		{ n++ }
		/"GET \/v2\/[^ ]+\/manifests\// { g++ }
		/"HEAD \/v2\/[^ ]+\/manifests\// { h++ }
		/"GET \/v2\/[^ ]+\/blobs\// { bg++ }
		/"GET / { split($0, q, "\" "); split(q[2], f, " "); if (f[2] ~ /^[0-9]+$/) b += f[2] }
		END { printf "%d %d %d %d %d\n", n, g, h, bg, b }' "$TMP/window-up.log")
	read -r ECR_REQ ECR_GET ECR_PUT < <(awk '
		{ n++ }
		/"GET \/v2\/[^ ]+\/manifests\// { g++ }
		/"PUT \/v2\/[^ ]+\/manifests\// { p++ }
		END { printf "%d %d %d\n", n, g, p }' "$TMP/window-ecr.log")
	local stats
	stats=$(curl -fs "$PROXY/_hubproxy/stats")
	PX_GET=$(jq -r .manifest_gets <<<"$stats")
	PX_HEAD=$(jq -r .manifest_heads <<<"$stats")
	PX_PULLS=$(jq -r .pulls <<<"$stats")
	PX_FAULTS=$(jq -r .faults <<<"$stats")
}

# summary NAME IMAGES: one line of the final table from the last measure.
summary() {
	local status=ok
	((${#FAILURES[@]} > FAILS_BEFORE)) && status=FAIL
	SUMMARY+=("$(printf '%-26s %-4s %6s %10s %5s %5s %7s  blobGETs=%s faults=%s ecr:req=%s,GETs=%s,PUTs=%s' "$1" "$status" "$2" \
		"$UP_BYTES" "$UP_GET" "$UP_HEAD" "$SECS" "$UP_BLOB_GET" "$PX_FAULTS" "$ECR_REQ" "$ECR_GET" "$ECR_PUT")")
}
begin() {
	FAILS_BEFORE=${#FAILURES[@]}
	CURRENT=${1:0:26}
	log "=== $*"
}

# digest REGISTRY_URL REPOSITORY REFERENCE [curl args]: Docker-Content-Digest
# of a manifest through the registry API, empty when absent.
MANIFEST_TYPES='application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json'
digest() {
	local url=$1 repo=$2 ref=$3
	shift 3
	curl -s -I "$@" -H "Accept: $MANIFEST_TYPES" "$url/v2/$repo/manifests/$ref" |
		awk -F': ' 'tolower($1) == "docker-content-digest" { sub(/\r$/, "", $2); print $2 }'
}
ecr_digest() { digest "https://$ECR_HOST" "$1" "$2" -K "$TMP/curl-ecr.conf"; }
up_digest() { digest "$UP_URL" "$1" "$2"; }

# seed_ecr ARGS...: pushes images straight into "ECR", as an earlier run would have.
seed_ecr() { E2E_ECR_PASSWORD=$ECR_PASSWORD "$SEED" -registry "$ECR_HOST" -user "$ECR_USER" -password-env E2E_ECR_PASSWORD "$@"; }
seed_up() { "$SEED" -registry "127.0.0.1:$UP_PORT" -insecure "$@"; }

# build NAME DIR [docker build args]: docker build with BuildKit, no network.
build() {
	local name=$1 dir=$2
	shift 2
	timeout 300 "$DOCKER" build --network=none --progress=plain -t "e2e-$name" "$@" "$dir" >"$LOGS/build-$name.log" 2>&1
}

# build_error NAME: the end of a failed build's log, on one line.
build_error() { grep -v '^[[:space:]]*$' "$LOGS/build-$1.log" | tail -n 4 | tr '\n' ' '; }

# ---------------------------------------------------------------- 0: the stack itself

begin "0 stack: TLS, auth, dockerd and a syntax frontend, without ecrbase"
mark
seed_ecr e2e/smoke:1 >/dev/null
seed_ecr -frontend "$TMP/bin/dockerfile-frontend" e2e/dockerfile:1 >/dev/null
mkdir -p "$TMP/smoke"
cat >"$TMP/smoke/Dockerfile" <<EOF
# syntax=$ECR_HOST/e2e/dockerfile:1
FROM $ECR_HOST/e2e/smoke:1
RUN --mount=type=cache,target=/cache cat /etc/e2e-image && npm ci && test -d node_modules
EOF
if build smoke "$TMP/smoke"; then
	grep -q 'e2e stand-in: npm ci' "$LOGS/build-smoke.log" || fail "0: the smoke build did not run its RUN step"
	pass "0: docker build of a FROM in ECR with a # syntax= frontend from ECR"
else
	tail -n 20 "$LOGS/build-smoke.log" >&2
	die "0: the stack cannot build from ECR (see above); nothing else can work"
fi
measure
summary "0 stack" 2
if [[ ${E2E_STAGE:-} == stack ]]; then
	print_summary
	exit 0
fi

# ---------------------------------------------------------------- ecrbase and the examples

CURRENT="setup of the examples"
t=$(date +%s.%N)
(cd "$ROOT" && go build -o "$TMP/bin/ecrbase" .) || die "go build of ecrbase failed"
ECRBASE=$TMP/bin/ecrbase
log "ecrbase built in $(elapsed "$t")s"

# The scenarios work on copies; the repository's examples stay as they are.
WORK=$TMP/work/examples
PRISTINE=$TMP/work/unconverted
cp -a "$ROOT/examples" "$WORK"
cp -a "$ROOT/examples" "$PRISTINE"
# ecrbase looks for .ecrbase.yaml from the working directory up: run it from
# a folder with none above it, so every example is mirrored with the defaults.
cd "$TMP/work"
# An application is a folder with a Dockerfile, at any depth.
mapfile -t APPS < <(find "$WORK" -name Dockerfile -type f -printf '%h\n' | sort)
((${#APPS[@]} > 0)) || die "no Dockerfile under examples/ to work on"
# app_name DIR: examples/custom-config/web -> custom-config-web
app_name() {
	local rel=${1#"$WORK"/}
	echo "${rel//\//-}"
}

# Every image the examples pull, as the product itself finds them.
ARGS=(--build-arg "AWS_ACCOUNT_ID=$ACCOUNT" --build-arg "AWS_REGION=$REGION")
# The demo seeds only the images of the example it shows.
SCOPE=$WORK
[[ ${E2E_STAGE:-} == demo ]] && SCOPE=$WORK/python-app
"$ECRBASE" images --json "${ARGS[@]}" "$SCOPE" >"$TMP/images.json" 2>"$LOGS/images.err" ||
	die "ecrbase images --json $WORK failed: $(head -c 600 "$LOGS/images.err")"
# One object per reference, whatever the report wraps them in.
jq -c '[.. | objects | select(has("kind") and has("status") and has("file"))] | .[]' "$TMP/images.json" >"$TMP/refs.jsonl"
# What mirror copies: the upstream image of each reference, converted ones
# included (rewrite names it in "upstream").
jq -r 'select(.status != "excluded") | select((.upstream // "") != "") | [.upstream, .repository, .kind] | @tsv' \
	"$TMP/refs.jsonl" | sort -u -t $'\t' -k1,1 >"$TMP/mirrored.tsv"
# ECR references whose upstream is unknown: an earlier run must have put them there.
jq -r 'select(.status == "already-ecr" and (.upstream // "") == "") | .reference // empty' "$TMP/refs.jsonl" | sort -u >"$TMP/already-ecr.txt"
[[ -s $TMP/mirrored.tsv ]] || die "ecrbase images found no image to mirror in $WORK: $(head -c 600 "$TMP/images.json")"

# split_ref REF: sets R_REGISTRY, R_PATH, R_TAG (docker.io/library/python:3.7).
split_ref() {
	local ref=$1 rest
	R_REGISTRY=${ref%%/*}
	rest=${ref#*/}
	[[ $rest != *@* ]] || die "$ref is pinned by digest; the suite can only make images for tags"
	R_PATH=${rest%:*}
	R_TAG=${rest##*:}
	[[ $rest == *:* && $R_TAG != */* ]] || die "$ref has no tag"
}

# How each upstream image is made. Real Docker Hub images come in every shape;
# the seeds cover multi-arch indexes (OCI and Docker lists), single manifests
# of both media types, shared layers (every seed shares the busybox layer),
# and a BuildKit frontend for "# syntax=".
seed_flags() {
	local path=$1 kind=$2
	if [[ $kind == syntax ]]; then
		echo "-frontend $TMP/bin/dockerfile-frontend"
		return
	fi
	case $path in
	library/python) echo "-oci -platforms linux/amd64,linux/arm64,linux/arm/v7" ;;
	library/golang) echo "-platforms linux/amd64,linux/arm64,linux/s390x" ;;
	library/alpine) echo "-oci" ;;
	*) echo "" ;;
	esac
}

declare -A UP_SEEDED       # reference -> upstream digest
declare -A PULLS_NEEDED    # reference -> manifest GETs a copy takes
declare -A REPO_OF         # reference -> ECR repository
declare -A FLAGS_OF        # reference -> seed flags
declare -A SOURCE_REGISTRIES
MIRROR_REFS=()
while IFS=$'\t' read -r ref repo kind; do
	split_ref "$ref"
	flags=$(seed_flags "$R_PATH" "$kind")
	# shellcheck disable=SC2086 # flags are words
	out=$(seed_up $flags "$R_PATH:$R_TAG") || die "seeding $ref upstream failed"
	UP_SEEDED[$ref]=${out##* }
	REPO_OF[$ref]=$repo
	FLAGS_OF[$ref]=$flags
	n=1
	[[ $flags == *-platforms* ]] && n=$((1 + $(tr ',' '\n' <<<"${flags##*-platforms }" | wc -l)))
	PULLS_NEEDED[$ref]=$n
	SOURCE_REGISTRIES[$R_REGISTRY]=1
	MIRROR_REFS+=("$ref")
done <"$TMP/mirrored.tsv"
# Put the images of the ECR references with no known upstream into "ECR",
# as an earlier run would have.
while read -r ref; do
	[[ -n $ref ]] || continue
	[[ $ref == "$ECR_HOST"/* ]] || die "already-ecr reference $ref is not in $ECR_HOST"
	rest=${ref#*/}
	seed_ecr "$rest" >/dev/null || die "seeding $ref into ECR failed"
done <"$TMP/already-ecr.txt"
MIRROR_ARGS=()
for r in "${!SOURCE_REGISTRIES[@]}"; do
	MIRROR_ARGS+=(--registry-mirror "$r=$PROXY")
done
TOTAL_PULLS=0
for ref in "${MIRROR_REFS[@]}"; do TOTAL_PULLS=$((TOTAL_PULLS + PULLS_NEEDED[$ref])); done
log "examples: ${#APPS[@]} Dockerfiles, ${#MIRROR_REFS[@]} images to mirror (${MIRROR_REFS[*]}), $(grep -c . "$TMP/already-ecr.txt" || true) already in ECR"

# run_mirror NAME ARGS...: ecrbase mirror --json through the proxy. Sets RC;
# the report goes to $TMP/NAME.json and the progress to $LOGS/NAME.err.
run_mirror() {
	local name=$1
	shift
	RC=0
	timeout 300 "$ECRBASE" mirror --json "${MIRROR_ARGS[@]}" "$@" >"$TMP/$name.json" 2>"$LOGS/$name.err" </dev/null || RC=$?
	if grep -Fq "$ECR_PASSWORD" "$TMP/$name.json" "$LOGS/$name.err"; then
		fail "$name: the ECR token shows in the output of ecrbase mirror"
	fi
}

# report FILE REF FIELD: a field of REF's entry in a mirror --json report
# ("absent" when the report has no entry for REF).
report() {
	jq -r --arg ref "$2" --arg f "$3" '[.images[]? | select(.source == $ref)][0] // {} | if has($f) then .[$f] | tostring else "absent" end' "$1" 2>/dev/null || echo "unreadable"
}
# report_sum FILE FIELD: the sum of a numeric field over every image.
report_sum() { jq -r --arg f "$2" '[.images[]?[$f] // 0] | add // 0' "$1" 2>/dev/null || echo 0; }

# check_ecr SCENARIO REF...: each REF is in ECR under its repository with the
# upstream's digest, children of an index included; through the registry API.
check_ecr() {
	local s=$1 ref want got child
	shift
	for ref in "$@"; do
		split_ref "$ref"
		want=$(up_digest "$R_PATH" "$R_TAG")
		got=$(ecr_digest "${REPO_OF[$ref]}" "$R_TAG")
		if [[ -z $got ]]; then
			fail "$s: $ref is not in ECR as ${REPO_OF[$ref]}:$R_TAG"
			continue
		fi
		[[ $got == "$want" ]] || fail "$s: ${REPO_OF[$ref]}:$R_TAG is $got in ECR, $want upstream"
		curl -fsK "$TMP/curl-ecr.conf" -H "Accept: $MANIFEST_TYPES" "https://$ECR_HOST/v2/${REPO_OF[$ref]}/manifests/$got" >"$TMP/manifest.json" ||
			fail "$s: GET ${REPO_OF[$ref]}@$got from ECR failed"
		local manifests=("$got")
		for child in $(jq -r '.manifests[]?.digest' "$TMP/manifest.json"); do
			if [[ -n $(ecr_digest "${REPO_OF[$ref]}" "$child") ]]; then
				manifests+=("$child")
			else
				fail "$s: ${REPO_OF[$ref]}@$child (a platform of $ref) is missing in ECR"
			fi
		done
		check_blobs "$s" "${REPO_OF[$ref]}" "${manifests[@]}"
	done
}

# check_blobs SCENARIO REPOSITORY DIGEST...: the config and layers of each
# image manifest are in that ECR repository.
check_blobs() {
	local s=$1 repo=$2 m blob code
	shift 2
	for m in "$@"; do
		curl -fsK "$TMP/curl-ecr.conf" -H "Accept: $MANIFEST_TYPES" "https://$ECR_HOST/v2/$repo/manifests/$m" >"$TMP/manifest.json" || continue
		for blob in $(jq -r '(.config.digest // empty), (.layers[]?.digest)' "$TMP/manifest.json"); do
			code=$(curl -s -o /dev/null -w '%{http_code}' -I -K "$TMP/curl-ecr.conf" "https://$ECR_HOST/v2/$repo/blobs/$blob")
			[[ $code == 200 ]] || fail "$s: blob $blob of $repo@$m is missing in ECR (HEAD: $code)"
		done
	done
}

# ---------------------------------------------------------------- demo

# E2E_STAGE=demo (scripts/demo.sh) runs the main job on one example, the way
# CodeBuild's pre_build and build do, shows what it did, and stops.
if [[ ${E2E_STAGE:-} == demo ]]; then
	CURRENT="demo"
	app=$WORK/python-app
	# scripts/demo.sh keeps the setup's log in a file; what follows is the demo.
	[[ -n ${E2E_DEMO_FD:-} ]] && exec 2>&"$E2E_DEMO_FD"
	echo
	echo "Local stand-ins: Docker Hub at $PROXY, ECR at $ECR_HOST."
	echo
	echo "\$ cat examples/python-app/Dockerfile"
	cat "$app/Dockerfile"
	echo
	echo "\$ ecrbase images examples/python-app"
	(cd "$app/.." && "$ECRBASE" images python-app) || die "ecrbase images failed"
	echo
	echo "\$ ecrbase mirror --rewrite ${MIRROR_ARGS[*]} examples/python-app"
	(cd "$app/.." && "$ECRBASE" mirror --rewrite "${MIRROR_ARGS[@]}" python-app) || die "ecrbase mirror --rewrite failed"
	echo
	echo "\$ git diff examples/python-app/Dockerfile"
	diff -u --label a/Dockerfile --label b/Dockerfile "$PRISTINE/python-app/Dockerfile" "$app/Dockerfile" || true
	echo
	echo "\$ docker build \$(ecrbase build-args) examples/python-app"
	read -ra BUILD_ARGS < <(cd "$app" && "$ECRBASE" build-args --account "$ACCOUNT" --region "$REGION")
	echo "  build args: ${BUILD_ARGS[*]}"
	mark
	build demo "$app" "${BUILD_ARGS[@]}" || die "docker build of the rewritten python-app failed: $(build_error demo)"
	measure
	grep -E '^#[0-9]+ (\[|DONE|naming)' "$LOGS/build-demo.log" | sed 's/^/  /' | tail -n 12
	echo
	echo "The build pulled only from $ECR_HOST: $UP_REQ requests reached Docker Hub while it ran."
	exit 0
fi

# ---------------------------------------------------------------- 1: cold mirror

begin "1 cold mirror of every Dockerfile under examples/"
mark
run_mirror s1 "$WORK"
measure
((RC == 0)) || fail "1: ecrbase mirror $WORK exited $RC: $(tail -n 3 "$LOGS/s1.err")"
check_ecr 1 "${MIRROR_REFS[@]}"
"$TMP/bin/ecrrepos" >"$TMP/repos.json" || fail "1: listing repositories in moto failed"
for ref in "${MIRROR_REFS[@]}"; do
	repo=${REPO_OF[$ref]}
	case $(jq -r --arg n "$repo" '[.[] | select(.name == $n)][0].scanOnPush // "absent"' "$TMP/repos.json") in
	true) ;;
	absent) fail "1: repository $repo does not exist in the ECR API (moto)" ;;
	*) fail "1: repository $repo has scan-on-push off" ;;
	esac
	st=$(report "$TMP/s1.json" "$ref" status)/$(report "$TMP/s1.json" "$ref" action)
	[[ $st == missing/copy ]] || fail "1: the --json report gives $ref status/action $st, want missing/copy"
	for f in digest source_digest; do
		d=$(report "$TMP/s1.json" "$ref" $f)
		[[ $d == "${UP_SEEDED[$ref]}" ]] || fail "1: the --json report gives $ref $f $d, want ${UP_SEEDED[$ref]}"
	done
	[[ $(report "$TMP/s1.json" "$ref" repository) == "${REPO_OF[$ref]}" ]] ||
		fail "1: the --json report gives $ref repository $(report "$TMP/s1.json" "$ref" repository), want ${REPO_OF[$ref]}"
done
[[ $(jq -r '.account + " " + .region + " " + .registry' "$TMP/s1.json" 2>/dev/null) == "$ACCOUNT $REGION $ECR_HOST" ]] ||
	fail "1: the --json report names another target than $ACCOUNT $REGION $ECR_HOST"
((UP_GET == $(report_sum "$TMP/s1.json" pulls_used))) ||
	fail "1: the --json report counts $(report_sum "$TMP/s1.json" pulls_used) pulls used, the upstream served $UP_GET manifest GETs"
REPORT_BYTES=$(report_sum "$TMP/s1.json" bytes)
((REPORT_BYTES > 0)) || fail "1: the --json report counts no byte copied"
((UP_GET == TOTAL_PULLS)) || fail "1: $UP_GET manifest GETs reached the upstream, want $TOTAL_PULLS (one per manifest)"
((PX_GET == UP_GET)) || fail "1: the proxy counted $PX_GET manifest GETs, the upstream log $UP_GET"
summary "1 cold mirror" "${#MIRROR_REFS[@]}"

# ---------------------------------------------------------------- 2: warm re-run

begin "2 warm re-run: nothing to copy, no counted pull"
mark
run_mirror s2 "$WORK"
measure
((RC == 0)) || fail "2: ecrbase mirror $WORK exited $RC: $(tail -n 3 "$LOGS/s2.err")"
((UP_GET == 0)) || fail "2: $UP_GET manifest GETs reached the upstream (access log), want 0"
((PX_GET == 0)) || fail "2: the proxy saw $PX_GET manifest GETs, want 0"
((ECR_PUT == 0)) || fail "2: $ECR_PUT manifests were written to ECR, want 0"
for ref in "${MIRROR_REFS[@]}"; do
	st=$(report "$TMP/s2.json" "$ref" status)/$(report "$TMP/s2.json" "$ref" action)
	[[ $st == up-to-date/none ]] || fail "2: the --json report gives $ref status/action $st, want up-to-date/none"
done
summary "2 warm re-run" "${#MIRROR_REFS[@]}"

# ---------------------------------------------------------------- 3: a tag moves upstream

# The first multi-arch image moves: the harder case, a whole index to re-copy.
MOVED=${MIRROR_REFS[0]}
for ref in "${MIRROR_REFS[@]}"; do
	if [[ ${FLAGS_OF[$ref]} == *-platforms* ]]; then
		MOVED=$ref
		break
	fi
done
begin "3 upstream moves $MOVED: only that image is copied"
split_ref "$MOVED"
MOVED_PATH=$R_PATH
# shellcheck disable=SC2086 # flags are words
out=$(seed_up ${FLAGS_OF[$MOVED]} -generation 2 "$R_PATH:$R_TAG") || die "moving $MOVED upstream failed"
UP_SEEDED[$MOVED]=${out##* }
mark
run_mirror s3 "$WORK"
measure
((RC == 0)) || fail "3: ecrbase mirror $WORK exited $RC: $(tail -n 3 "$LOGS/s3.err")"
check_ecr 3 "$MOVED"
for ref in "${MIRROR_REFS[@]}"; do
	st=$(report "$TMP/s3.json" "$ref" status)/$(report "$TMP/s3.json" "$ref" action)
	if [[ $ref == "$MOVED" ]]; then
		[[ $st == stale/update ]] || fail "3: the --json report gives the moved $ref status/action $st, want stale/update"
		[[ $(report "$TMP/s3.json" "$ref" digest) == "${UP_SEEDED[$ref]}" ]] ||
			fail "3: the --json report gives the moved $ref digest $(report "$TMP/s3.json" "$ref" digest), want ${UP_SEEDED[$ref]}"
	else
		[[ $st == up-to-date/none ]] || fail "3: the --json report gives $ref status/action $st, want up-to-date/none"
	fi
done
((UP_GET == PULLS_NEEDED[$MOVED])) || fail "3: $UP_GET manifest GETs reached the upstream, want ${PULLS_NEEDED[$MOVED]} (the moved image only)"
others=$(grep -E '"GET /v2/[^ ]+/(manifests|blobs)/' "$TMP/window-up.log" | grep -vc "\"GET /v2/$MOVED_PATH/" || true)
((others == 0)) || fail "3: $others GETs reached the upstream for images that did not move"
summary "3 tag moved upstream" 1

# ---------------------------------------------------------------- 4: rewrite and build

begin "4 rewrite -w, then docker build \$(ecrbase build-args) of every example"
RC=0
"$ECRBASE" rewrite -w "$WORK" >"$LOGS/s4-rewrite.out" 2>"$LOGS/s4-rewrite.err" || RC=$?
((RC == 0)) || fail "4: ecrbase rewrite -w $WORK exited $RC: $(tail -n 3 "$LOGS/s4-rewrite.err")"
mark
built=0
for app in "${APPS[@]}"; do
	name=$(app_name "$app")
	RC=0
	bargs=$("$ECRBASE" build-args "$app" 2>"$LOGS/s4-build-args-$name.err") || RC=$?
	if ((RC != 0)); then
		fail "4: ecrbase build-args $app exited $RC: $(tail -n 3 "$LOGS/s4-build-args-$name.err")"
		continue
	fi
	# shellcheck disable=SC2086 # build-args prints words for the docker command line
	if ! build "$name" "$app" $bargs; then
		fail "4: docker build of $name with '$bargs' failed: $(build_error "$name")"
		continue
	fi
	runs=$(grep -cE '^[[:space:]]*RUN[[:space:]]' "$app/Dockerfile" || true)
	ran=$(grep -cE '^#[0-9]+ \[[^]]+\] RUN ' "$LOGS/build-$name.log" || true)
	if ((runs > 0 && ran == 0)); then
		fail "4: the build of $name ran none of its $runs RUN steps"
	fi
	built=$((built + 1))
	log "built $name (${ran} RUN steps ran)"
done
measure
((UP_REQ == 0)) || fail "4: $UP_REQ requests reached the upstream during the builds, want none: $(head -n 3 "$TMP/window-up.log")"
((PX_GET + PX_HEAD == 0)) || fail "4: the proxy saw $PX_GET manifest GETs and $PX_HEAD HEADs during the builds, want none"
((ECR_GET > 0)) || fail "4: the builds pulled nothing from ECR"
summary "4 rewrite + docker build" "$built"

# ---------------------------------------------------------------- 5: rate limit reached

# An image whose tag moved upstream while ECR keeps the old one: mirroring it
# needs a counted pull, which the exhausted window refuses.
STALE=""
for ref in "${MIRROR_REFS[@]}"; do
	if [[ $ref != "$MOVED" ]] && jq -se --arg r "$ref" 'any(.[]; .upstream == $r and .kind == "from")' "$TMP/refs.jsonl" >/dev/null; then
		STALE=$ref
		break
	fi
done
[[ -n $STALE ]] || die "5: no image pulled by a FROM besides $MOVED"
STALE_APP=$(dirname "$(jq -r --arg r "$STALE" 'select(.upstream == $r) | .file' "$TMP/refs.jsonl" | head -n 1)")
split_ref "$STALE"
stale_ecr=$(ecr_digest "${REPO_OF[$STALE]}" "$R_TAG")
# Three runs with the proxy answering 429 to manifest GETs:
#   moved:100  the tag moved upstream, the headers still show pulls left, so
#              the manifest GET itself gets the 429;
#   moved:0    the same as Docker Hub answers once the window is used up:
#              ratelimit-remaining 0 on every HEAD as well;
#   same:0     the window is used up and ECR is current: nothing to pull;
#   down:100   Docker Hub is down (503 to every request, HEADs included).
# Each time ECR holds every image, so mirror must exit 0, with a warning
# whenever it could not bring an image up to date.
for variant in moved:100 moved:0 same:0 down:100; do
	remaining=${variant#*:}
	if [[ $variant == moved:100 ]]; then
		# shellcheck disable=SC2086 # flags are words
		seed_up ${FLAGS_OF[$STALE]} -generation 2 "$R_PATH:$R_TAG" >/dev/null || die "moving $STALE upstream failed"
	elif [[ $variant == same:0 ]]; then
		# The seeds are reproducible: generation 1 again is what ECR holds.
		# shellcheck disable=SC2086 # flags are words
		seed_up ${FLAGS_OF[$STALE]} -generation 1 "$R_PATH:$R_TAG" >/dev/null || die "moving $STALE back upstream failed"
		[[ $(up_digest "$R_PATH" "$R_TAG") == "$stale_ecr" ]] || die "5: re-seeding $STALE did not give back ECR's digest"
	fi
	name=s5a-${variant/:/-}
	begin "5 rate limit: 429 on GETs, $remaining pulls left, $STALE ${variant%:*} upstream, ECR has every image"
	if [[ $variant == down:* ]]; then
		curl -fs -X POST "$PROXY/_hubproxy/fault?mode=5xx&status=503" >/dev/null
	else
		curl -fs -X POST "$PROXY/_hubproxy/fault?mode=429" >/dev/null
	fi
	mark
	curl -fs -X POST "$PROXY/_hubproxy/quota?limit=100&remaining=$remaining" >/dev/null
	# CodeBuild's pre_build on a repository that committed the converted files.
	run_mirror "$name" "$WORK"
	measure
	rep=$TMP/$name.json
	err=$LOGS/$name.err
	if ((RC != 0)); then
		fail "5 ($variant): with ECR holding every image, ecrbase mirror exited $RC, want 0: $(tail -n 1 "$err")"
	fi
	if grep -qi warn "$err"; then
		log "5 ($variant): warning seen: $(grep -i warn "$err" | head -n 1)"
	elif [[ $variant != same:* ]]; then
		fail "5 ($variant): ecrbase mirror printed no warning"
	fi
	[[ $(ecr_digest "${REPO_OF[$STALE]}" "$R_TAG") == "$stale_ecr" ]] ||
		fail "5 ($variant): ECR's ${REPO_OF[$STALE]}:$R_TAG changed although no pull was possible"
	if [[ $variant != same:* ]]; then
		# Not grep -q: under pipefail, its early exit can kill the first grep
		# with SIGPIPE and fail a pipeline that found the line.
		grep -i warn "$err" | grep -F "$R_PATH" >/dev/null || fail "5 ($variant): no warning names $STALE"
		[[ $(report "$rep" "$STALE" action) == keep ]] ||
			fail "5 ($variant): the --json report gives $STALE action $(report "$rep" "$STALE" action), want keep"
		[[ $(report "$rep" "$STALE" warnings) != absent ]] || fail "5 ($variant): the --json report has no warning for $STALE"
	fi
	((PX_PULLS == 0)) || fail "5 ($variant): $PX_PULLS manifests were pulled through a proxy answering 429"
	case $variant in
	moved:100) label="5a 429: moved, 100 left" ;;
	moved:0) label="5a 429: moved, 0 left" ;;
	same:0) label="5a 429: current, 0 left" ;;
	*) label="5a hub down (503)" ;;
	esac
	summary "$label" "${#MIRROR_REFS[@]}"
done

# The build still works: from ECR alone, with nothing in the local cache.
begin "5 rate limit: docker build of $(app_name "$STALE_APP") while Docker Hub answers 429"
"$DOCKER" builder prune -af >/dev/null 2>&1 || true
"$DOCKER" image prune -af >/dev/null 2>&1 || true
mark
bargs=$("$ECRBASE" build-args "$STALE_APP" 2>>"$LOGS/s5-build-args.err") || fail "5: ecrbase build-args $STALE_APP failed"
# shellcheck disable=SC2086 # build-args prints words for the docker command line
if build "$(app_name "$STALE_APP")-429" "$STALE_APP" --pull --no-cache $bargs; then
	log "5: $(app_name "$STALE_APP") still builds from ECR"
else
	fail "5: docker build of $(app_name "$STALE_APP") failed while Docker Hub answers 429: $(build_error "$(app_name "$STALE_APP")-429")"
fi
measure
((UP_REQ == 0)) || fail "5: the build sent $UP_REQ requests to the upstream"
summary "5a 429: docker build" 1

# An image ECR has never seen cannot be mirrored now: a clear error, exit != 0.
begin "5 rate limit: proxy answers 429, docker.io/e2e/fresh:1 is not in ECR"
seed_up e2e/fresh:1 >/dev/null || die "seeding e2e/fresh:1 upstream failed"
curl -fs -X POST "$PROXY/_hubproxy/fault?mode=429" >/dev/null
mark
run_mirror s5b --image docker.io/e2e/fresh:1
measure
if ((RC == 0)); then
	fail "5: ecrbase mirror --image docker.io/e2e/fresh:1 exited 0 while the image cannot be pulled"
elif ((RC == 124)); then
	fail "5: ecrbase mirror --image docker.io/e2e/fresh:1 did not finish within 300s"
fi
msg=$(grep -v '^[[:space:]]*$' "$LOGS/s5b.err" | tail -n 1)
log "5: exit $RC, last line: $msg"
grep -qi 'e2e/fresh' "$LOGS/s5b.err" || fail "5: the error does not name the image docker.io/e2e/fresh:1: $msg"
grep -Eqi 'rate limit|TOOMANYREQUESTS|pulls? left|quota' "$LOGS/s5b.err" || fail "5: the error does not say the pull limit is reached: $msg"
! grep -Eq 'goroutine [0-9]+|panic:' "$LOGS/s5b.err" || fail "5: ecrbase mirror crashed: $msg"
[[ -z $(ecr_digest docker-hub/e2e/fresh 1) ]] || fail "5: docker-hub/e2e/fresh:1 showed up in ECR"
[[ $(report "$TMP/s5b.json" docker.io/e2e/fresh:1 action) == fail ]] ||
	fail "5: the --json report gives docker.io/e2e/fresh:1 action $(report "$TMP/s5b.json" docker.io/e2e/fresh:1 action), want fail"
curl -fs -X POST "$PROXY/_hubproxy/fault?mode=normal" >/dev/null
curl -fs -X POST "$PROXY/_hubproxy/reset" >/dev/null
summary "5b 429, image not in ECR" 1

# ---------------------------------------------------------------- 6: pre-commit

begin "6 pre-commit: rewrite --check, without AWS or network settings"
mark
RC=0
env -i PATH="$PATH" HOME="$TMP" "$ECRBASE" rewrite --check "$PRISTINE" >"$LOGS/s6-unconverted.out" 2>"$LOGS/s6-unconverted.err" || RC=$?
((RC == 3)) || fail "6: rewrite --check on the unconverted examples exited $RC, want 3: $(tail -n 3 "$LOGS/s6-unconverted.err")"
# Every Dockerfile with an image to rewrite is named in the check's output.
for f in $(jq -r 'select(.status == "rewrite") | .file' "$TMP/refs.jsonl" | sort -u); do
	rel=${f#"$WORK"/}
	grep -Fq "$rel" "$LOGS/s6-unconverted.out" "$LOGS/s6-unconverted.err" ||
		fail "6: rewrite --check did not name $rel among the files to rewrite"
done
RC=0
env -i PATH="$PATH" HOME="$TMP" "$ECRBASE" rewrite --check "$WORK" >"$LOGS/s6-converted.out" 2>"$LOGS/s6-converted.err" || RC=$?
((RC == 0)) || fail "6: rewrite --check on the converted examples exited $RC, want 0: $(tail -n 3 "$LOGS/s6-converted.err")"
measure
((UP_REQ == 0)) || fail "6: rewrite --check sent $UP_REQ requests to the upstream"
summary "6 pre-commit check" "${#APPS[@]}"

# ---------------------------------------------------------------- 7: pin

begin "7 mirror --rewrite --pin: digests written, then built"
PIN=$TMP/work/pin
cp -a "$PRISTINE/python-app" "$PIN"
mark
RC=0
(cd "$PIN" && timeout 300 "$ECRBASE" mirror --rewrite --pin "${MIRROR_ARGS[@]}" . >"$LOGS/s7.out" 2>"$LOGS/s7.err") || RC=$?
((RC == 0)) || fail "7: mirror --rewrite --pin exited $RC: $(tail -n 3 "$LOGS/s7.err")"
want="docker-hub/library/python:3.7@${UP_SEEDED[docker.io/library/python:3.7]:-none}"
grep -Fq "$want" "$PIN/Dockerfile" || fail "7: the pinned Dockerfile does not say $want: $(grep -m1 FROM "$PIN/Dockerfile")"
read -ra BUILD_ARGS < <(cd "$PIN" && "$ECRBASE" build-args --account "$ACCOUNT" --region "$REGION")
build pin "$PIN" "${BUILD_ARGS[@]}" || fail "7: docker build of the pinned Dockerfile failed: $(build_error pin)"
RC=0
"$ECRBASE" rewrite --check "$PIN" >/dev/null 2>&1 || RC=$?
((RC == 0)) || fail "7: rewrite --check on the pinned Dockerfile exited $RC, want 0"
measure
((UP_GET == 0)) || fail "7: pinning an image ECR already has made $UP_GET manifest GETs upstream"
summary "7 pin and build" 1

# ---------------------------------------------------------------- 8: compose

# compose_images FILE: "service<TAB>image<TAB>built" for each service of a
# docker-compose config output (services are keys at two spaces, their
# settings at four).
compose_images() {
	awk '
		/^services:/ { in_s = 1; next }
		/^[^ ]/ { in_s = 0 }
		in_s && /^  [^ ].*:$/ { if (svc != "") print svc "\t" img "\t" b; svc = substr($1, 1, length($1) - 1); img = ""; b = 0; next }
		in_s && /^    build:/ { b = 1 }
		in_s && /^    image: / { img = $2 }
		END { if (svc != "") print svc "\t" img "\t" b }' "$1"
}

begin "8 compose: mirror --rewrite, docker-compose config, pull and docker build"
COMPOSE_REPO=$TMP/work/compose-repo
cp -a "$PRISTINE/compose-app" "$COMPOSE_REPO"
mark
RC=0
# The whole conversion of a repository with a Dockerfile and a compose file.
(cd "$COMPOSE_REPO" && timeout 300 "$ECRBASE" mirror --rewrite "${MIRROR_ARGS[@]}" . >"$LOGS/s8-mirror.out" 2>"$LOGS/s8-mirror.err") || RC=$?
((RC == 0)) || fail "8: ecrbase mirror --rewrite . exited $RC: $(tail -n 3 "$LOGS/s8-mirror.err")"
grep -q '^rewrote compose.yaml' "$LOGS/s8-mirror.err" || fail "8: mirror --rewrite did not rewrite compose.yaml: $(tail -n 3 "$LOGS/s8-mirror.err")"
grep -q '^rewrote Dockerfile' "$LOGS/s8-mirror.err" || fail "8: mirror --rewrite did not rewrite the Dockerfile"
for img in docker.io/library/postgres:16-alpine docker.io/library/redis:7-alpine docker.io/library/python:3.12-slim; do
	grep -Fq "$img" "$LOGS/s8-mirror.out" || fail "8: mirror --rewrite did not mirror $img"
done
(cd "$COMPOSE_REPO" && "$ECRBASE" build-args --format env >"$COMPOSE_REPO/.env.ecr" 2>"$LOGS/s8-build-args.err") ||
	fail "8: ecrbase build-args --format env failed: $(tail -n 3 "$LOGS/s8-build-args.err")"
log "8: build-args --format env: $(tr '\n' ' ' <"$COMPOSE_REPO/.env.ecr")"
# Every rewritten compose file (the examples rewritten in 4, and this one)
# is valid for the real client and interpolates to ECR URIs.
configs=0
REPO_CONFIG=""
while read -r f; do
	name=${f#"$TMP/work/"}
	name=${name//\//-}
	[[ $f != "$COMPOSE_REPO/compose.yaml" ]] || REPO_CONFIG=$LOGS/s8-config-$name.yaml
	if ! docker-compose --env-file "$COMPOSE_REPO/.env.ecr" -f "$f" config >"$LOGS/s8-config-$name.yaml" 2>"$LOGS/s8-config-$name.err"; then
		fail "8: docker-compose config of $f failed: $(tail -n 2 "$LOGS/s8-config-$name.err")"
		continue
	fi
	configs=$((configs + 1))
	while IFS=$'\t' read -r svc img built; do
		if ((built)); then
			log "8: $f: $svc builds $img"
		elif [[ $img == "$ECR_HOST"/* ]]; then
			log "8: $f: $svc pulls $img"
		else
			fail "8: docker-compose config of $f resolves $svc to '$img', not to $ECR_HOST"
		fi
	done < <(compose_images "$LOGS/s8-config-$name.yaml")
done < <(find "$WORK" "$COMPOSE_REPO" -type f \( -name 'compose.y*ml' -o -name 'docker-compose.y*ml' -o -name 'compose.*.y*ml' -o -name 'docker-compose.*.y*ml' \) | sort)
((configs > 1)) || fail "8: docker-compose config ran on $configs compose files, want the examples' and this one"
# Nothing cached: every layer comes from "ECR" now.
"$DOCKER" image prune -af >/dev/null 2>&1 || true
"$DOCKER" builder prune -af >/dev/null 2>&1 || true
mark
pulls=()
while IFS=$'\t' read -r svc img built; do
	((built)) || pulls+=("$svc")
done < <([[ -z $REPO_CONFIG ]] || compose_images "$REPO_CONFIG")
((${#pulls[@]} == 2)) || fail "8: docker-compose config lists ${#pulls[@]} services to pull (${pulls[*]}), want db and cache"
# Never a pull without service names: the service that builds has a bare
# Docker Hub name, which docker-compose would try to pull too.
if ((${#pulls[@]} == 0)); then
	fail "8: nothing to pull"
elif timeout 300 docker-compose --env-file "$COMPOSE_REPO/.env.ecr" -f "$COMPOSE_REPO/compose.yaml" pull "${pulls[@]}" >"$LOGS/s8-pull.log" 2>&1; then
	for svc in "${pulls[@]}"; do
		img=$(compose_images "$REPO_CONFIG" | awk -F'\t' -v s="$svc" '$1 == s { print $2 }')
		"$DOCKER" image inspect "$img" >/dev/null 2>&1 || fail "8: docker-compose pull left no $img in docker"
	done
else
	fail "8: docker-compose pull ${pulls[*]} failed: $(tail -n 3 "$LOGS/s8-pull.log" | tr '\n' ' ')"
fi
read -ra BUILD_ARGS < <(cd "$COMPOSE_REPO" && "$ECRBASE" build-args)
build compose "$COMPOSE_REPO" "${BUILD_ARGS[@]}" || fail "8: docker build of the compose example failed: $(build_error compose)"
measure
((UP_REQ == 0)) || fail "8: docker-compose pull and docker build sent $UP_REQ requests to the upstream: $(head -n 3 "$TMP/window-up.log")"
((ECR_GET > 0)) || fail "8: docker-compose pull and docker build pulled nothing from ECR"
log "8: docker-compose pull + docker build: $UP_REQ requests upstream, $ECR_REQ to ECR ($ECR_GET manifest GETs)"
summary "8 compose pull + build" "$((${#pulls[@]} + 1))"
# ---------------------------------------------------------------- 9: faults

# fault_run NAME FAULT-QUERY ARGS...: sets a proxy fault, runs mirror, then
# turns the fault off and refills the quota.
fault_run() {
	local name=$1 q=$2
	shift 2
	mark
	curl -fs -X POST "$PROXY/_hubproxy/fault?$q" >/dev/null
	run_mirror "$name" "$@"
	measure
	curl -fs -X POST "$PROXY/_hubproxy/fault?mode=normal" >/dev/null
	curl -fs -X POST "$PROXY/_hubproxy/quota?limit=100&remaining=100" >/dev/null
	log "9 ($name): exit $RC in ${SECS}s, $PX_GET manifest GETs at the proxy, $PX_PULLS pulls: $(grep -v '^[[:space:]]*$' "$LOGS/$name.err" | tail -n 1 | cut -c1-300)"
}
# within SECONDS LIMIT: SECONDS (a decimal) is at most LIMIT.
within() { awk -v s="$1" -v l="$2" 'BEGIN { exit !(s <= l) }'; }

begin "9a 429 forever (Retry-After: 1), image not in ECR"
seed_up e2e/limited:1 >/dev/null || die "seeding e2e/limited:1 upstream failed"
fault_run s9a "mode=429&retry_after=1" --image docker.io/e2e/limited:1
((RC == 1)) || fail "9a: exit $RC, want 1"
# Without --wait an image waits 30 s at most in all: 30 waits of 1 s.
within "$SECS" 45 || fail "9a: the run took ${SECS}s, want the 30 s bound"
((PX_GET <= 31)) || fail "9a: $PX_GET manifest GETs, want at most 31 (one, then one per 1 s wait)"
grep -q 'TOOMANYREQUESTS' "$LOGS/s9a.err" || fail "9a: the error does not name the pull limit"
[[ -z $(ecr_digest docker-hub/e2e/limited 1) ]] || fail "9a: docker-hub/e2e/limited:1 showed up in ECR"
summary "9a 429 forever, not in ECR" 1

begin "9b 429 forever (Retry-After: 1), ECR holds the tag"
seed_up e2e/kept:1 >/dev/null || die "seeding e2e/kept:1 upstream failed"
run_mirror s9b-seed --image docker.io/e2e/kept:1
((RC == 0)) || die "9b: mirroring e2e/kept:1 failed: $(tail -n 1 "$LOGS/s9b-seed.err")"
kept=$(ecr_digest docker-hub/e2e/kept 1)
seed_up -generation 2 e2e/kept:1 >/dev/null || die "moving e2e/kept:1 upstream failed"
fault_run s9b "mode=429&retry_after=1" --image docker.io/e2e/kept:1
((RC == 0)) || fail "9b: exit $RC, want 0: ECR's copy is kept"
within "$SECS" 10 || fail "9b: the run took ${SECS}s, want no wait at all"
((PX_GET <= 1)) || fail "9b: $PX_GET manifest GETs, want at most 1"
[[ $(report "$TMP/s9b.json" docker.io/e2e/kept:1 action) == keep ]] || fail "9b: action $(report "$TMP/s9b.json" docker.io/e2e/kept:1 action), want keep"
grep -qi warn "$LOGS/s9b.err" || fail "9b: no warning"
[[ $(ecr_digest docker-hub/e2e/kept 1) == "$kept" ]] || fail "9b: ECR's docker-hub/e2e/kept:1 changed"
summary "9b 429 forever, in ECR" 1

begin "9c hanging source (--timeout 2s)"
seed_up e2e/hang:1 >/dev/null || die "seeding e2e/hang:1 upstream failed"
fault_run s9c "mode=hang" --timeout 2s --image docker.io/e2e/hang:1
((RC == 1)) || fail "9c: exit $RC, want 1"
# Five attempts of at most 2 s each, with 0.5+1+2+4 s of backoff between.
within "$SECS" 40 || fail "9c: the run took ${SECS}s, want it bounded by the timeout and the retries"
grep -q 'stayed silent for the 2s timeout' "$LOGS/s9c.err" || fail "9c: the error does not name the timeout"
grep -qF "${PROXY#http://}" "$LOGS/s9c.err" || fail "9c: the error does not name the host"
summary "9c hanging source" 1

begin "9d tampered manifest"
seed_up e2e/tampered:1 >/dev/null || die "seeding e2e/tampered:1 upstream failed"
fault_run s9d "mode=tamper" --image docker.io/e2e/tampered:1
((RC == 1)) || fail "9d: exit $RC, want 1"
grep -q 'does not match its announced digest' "$LOGS/s9d.err" || fail "9d: the error does not say the bytes do not match"
[[ -z $(ecr_digest docker-hub/e2e/tampered 1) ]] || fail "9d: a tampered manifest was tagged in ECR"
summary "9d tampered manifest" 1

begin "9e pull budget: 2 left, an index needing 4"
seed_up -platforms linux/amd64,linux/arm64,linux/s390x e2e/budget:1 >/dev/null || die "seeding e2e/budget:1 upstream failed"
fault_run s9e "mode=normal" --image docker.io/e2e/budget:1 --dry-run
grep -q 'at least 2 counted pull(s) needed (estimate' "$TMP/s9e.json" "$LOGS/s9e.err" ||
	[[ $(jq -r .pulls_estimate "$TMP/s9e.json") == true ]] || fail "9e: the dry run does not mark its 2 pulls as an estimate"
mark
curl -fs -X POST "$PROXY/_hubproxy/quota?limit=100&remaining=2" >/dev/null
run_mirror s9e "--image" docker.io/e2e/budget:1
measure
curl -fs -X POST "$PROXY/_hubproxy/quota?limit=100&remaining=100" >/dev/null
log "9 (s9e): exit $RC in ${SECS}s, $PX_GET manifest GETs at the proxy: $(tail -n 1 "$LOGS/s9e.err" | cut -c1-300)"
((RC == 1)) || fail "9e: exit $RC, want 1"
((PX_GET == 1)) || fail "9e: $PX_GET manifest GETs, want only the index's"
grep -q 'index GET' "$LOGS/s9e.err" || fail "9e: the error does not say the index GET was spent"
"$TMP/bin/ecrrepos" >"$TMP/repos-9e.json" || fail "9e: listing repositories in moto failed"
[[ $(jq -r '[.[] | select(.name == "docker-hub/e2e/budget")] | length' "$TMP/repos-9e.json") == 0 ]] ||
	fail "9e: repository docker-hub/e2e/budget was created although the budget did not suffice"
summary "9e budget stops early" 1

# ---------------------------------------------------------------- 10: zero counted pulls

# A second docker-registry holds the upstream's images by digest, under a
# path prefix as Docker's copy on ECR Public does (public.ecr.aws/docker):
# a content source. A cold mirror of every example into new repositories
# reads every manifest and blob from it and spends no counted pull; the
# tags are still resolved upstream with HEADs. Then a real docker build.
begin "10 zero counted pulls: cold mirror from a content source, then docker build"
CS_PORT=$(free_port)
mkdir -p "$TMP/cs-data/docker/registry/v2/repositories/hub"
for d in "$TMP"/upstream-data/docker/registry/v2/repositories/*; do
	cp -a "$d" "$TMP/cs-data/docker/registry/v2/repositories/hub/"
done
cp -a "$TMP/upstream-data/docker/registry/v2/blobs" "$TMP/cs-data/docker/registry/v2/"
cat >"$TMP/cs.yml" <<EOF
version: 0.1
log: {level: warn, accesslog: {disabled: false}}
storage: {filesystem: {rootdirectory: $TMP/cs-data}}
http: {addr: "127.0.0.1:$CS_PORT", secret: e2e-content-source}
EOF
start content-source docker-registry serve "$TMP/cs.yml"
CS_URL=http://127.0.0.1:$CS_PORT
wait_until "content source registry" 30 curl -fs "$CS_URL/v2/"
ZERO=$TMP/work/zero
cp -a "$PRISTINE" "$ZERO"
ZERO_PREFIXES=()
ZERO_ARGS=()
for r in "${!SOURCE_REGISTRIES[@]}"; do
	ZERO_PREFIXES+=(--prefix "$r=zero/$r")
	ZERO_ARGS+=(--content-source "$r=$CS_URL/hub")
done
# What this mirror copies, as the product finds it with these prefixes (an
# ECR reference under the default prefix is no longer one of ours).
(cd "$ZERO" && "$ECRBASE" images --json "${ARGS[@]}" "${ZERO_PREFIXES[@]}" .) >"$TMP/zero-images.json" 2>"$LOGS/zero-images.err" ||
	die "10: ecrbase images in $ZERO failed: $(head -c 600 "$LOGS/zero-images.err")"
mapfile -t ZERO_REFS < <(jq -r '[.. | objects | select(has("kind") and has("status") and has("file"))] | .[] | select(.status != "excluded") | .upstream // empty' "$TMP/zero-images.json" | sort -u)
ZERO_PULLS=0
for ref in "${ZERO_REFS[@]}"; do ZERO_PULLS=$((ZERO_PULLS + ${PULLS_NEEDED[$ref]:-1})); done
((${#ZERO_REFS[@]} > 0)) || die "10: ecrbase images finds nothing to mirror in $ZERO"
CS_MARK=$(wc -l <"$LOGS/content-source.out")
mark
RC=0
(cd "$ZERO" && timeout 300 "$ECRBASE" mirror --rewrite --json "${MIRROR_ARGS[@]}" "${ZERO_PREFIXES[@]}" "${ZERO_ARGS[@]}" . >"$TMP/s10.json" 2>"$LOGS/s10.err") || RC=$?
measure
((RC == 0)) || fail "10: ecrbase mirror --rewrite with a content source exited $RC: $(tail -n 3 "$LOGS/s10.err")"
CS_GET=$(tail -n +$((CS_MARK + 1)) "$LOGS/content-source.out" | grep -c '"GET /v2/[^ ]*/manifests/' || true)
((PX_PULLS == 0 && PX_GET == 0)) || fail "10: the counting proxy saw $PX_GET manifest GETs ($PX_PULLS pulls), want 0"
((UP_GET == 0 && UP_BLOB_GET == 0)) || fail "10: the upstream served $UP_GET manifest GETs and $UP_BLOB_GET blob GETs, want 0"
((CS_GET >= ZERO_PULLS)) || fail "10: the content source served $CS_GET manifest GETs, want at least $ZERO_PULLS"
[[ $(report_sum "$TMP/s10.json" pulls_used) == 0 ]] || fail "10: the --json report counts $(report_sum "$TMP/s10.json" pulls_used) pulls used, want 0"
[[ $(jq -r '[.pulls_by_registry[]?] | add // 0' "$TMP/s10.json") == 0 ]] || fail "10: pulls_by_registry is $(jq -c .pulls_by_registry "$TMP/s10.json"), want zeros"
[[ $(jq '.images | length' "$TMP/s10.json") == "${#ZERO_REFS[@]}" ]] ||
	fail "10: the report has $(jq '.images | length' "$TMP/s10.json") images, ecrbase images found ${#ZERO_REFS[@]}"
for ref in "${ZERO_REFS[@]}"; do
	split_ref "$ref"
	repo=$(report "$TMP/s10.json" "$ref" repository)
	[[ $repo == zero/* ]] || fail "10: $ref went to repository $repo, want one under zero/"
	want=$(up_digest "$R_PATH" "$R_TAG")
	got=$(ecr_digest "$repo" "$R_TAG")
	[[ -n $want && $got == "$want" ]] || fail "10: $repo:$R_TAG is '$got' in ECR, '$want' upstream"
	from=$(jq -r --arg r "$ref" '[.images[] | select(.source == $r) | .content[]?.registry] | join(",")' "$TMP/s10.json")
	[[ $from == "127.0.0.1:$CS_PORT/hub" ]] || fail "10: $ref came from '$from', want the content source only"
done
summary "10 zero pulls, cold" "${#ZERO_REFS[@]}"
log "10: cold mirror from the content source in ${SECS}s, $CS_GET manifest GETs there, $PX_GET at the counting proxy"

begin "10 zero counted pulls: docker build of python-app from ECR"
grep -q "zero/docker.io/library/python" "$ZERO/python-app/Dockerfile" ||
	fail "10: python-app was not rewritten to the zero/ repositories: $(grep -m1 FROM "$ZERO/python-app/Dockerfile")"
mark
read -ra BUILD_ARGS < <(cd "$ZERO/python-app" && "$ECRBASE" build-args --account "$ACCOUNT" --region "$REGION")
build zero "$ZERO/python-app" "${BUILD_ARGS[@]}" || fail "10: docker build of python-app from the zero/ repositories failed: $(build_error zero)"
measure
((UP_REQ == 0)) || fail "10: $UP_REQ requests reached the upstream during the build"
# dockerd has these layers from the builds above: it resolves the new
# references in ECR and finds the content by digest.
((ECR_REQ > 0)) || fail "10: the build sent no request to ECR"
grep -q "zero/docker.io/library/python" "$LOGS/build-zero.log" || fail "10: the build log does not name the zero/ repository"
summary "10 zero pulls, build" 1

# ---------------------------------------------------------------- 11: real-world shapes

begin "11 an ARG-held name, an image given at build time, a broken template"
SHAPES=$TMP/work/shapes
mkdir -p "$SHAPES/runtime" "$SHAPES/custom" "$SHAPES/templates"
printf 'ARG REPO=docker.io/e2e/shapes-runtime\nFROM $REPO:8.0\nRUN echo runtime\n' >"$SHAPES/runtime/Dockerfile"
printf 'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nRUN echo custom\n' >"$SHAPES/custom/Dockerfile"
printf '{{ set base to "e2e/shapes-runtime" }}\nFROM {{base}}\n' >"$SHAPES/templates/Dockerfile"
seed_up e2e/shapes-runtime:8.0 >/dev/null || die "seeding e2e/shapes-runtime:8.0 upstream failed"
seed_up e2e/shapes-base:1 >/dev/null || die "seeding e2e/shapes-base:1 upstream failed"
RC=0
(cd "$SHAPES" && timeout 300 "$ECRBASE" mirror --rewrite --build-arg BASE_IMAGE=e2e/shapes-base:1 "${MIRROR_ARGS[@]}" . >"$LOGS/s11.out" 2>"$LOGS/s11.err") || RC=$?
((RC == 1)) || fail "11: mirror --rewrite with a broken template exited $RC, want 1: $(tail -n 3 "$LOGS/s11.err")"
grep -q '^templates/Dockerfile:1: ' "$LOGS/s11.err" || fail "11: mirror --rewrite does not name templates/Dockerfile:1: $(tail -n 3 "$LOGS/s11.err")"
grep -Fq 'ARG REPO=${AWS_ACCOUNT_ID}.dkr.ecr.${AWS_REGION}.amazonaws.com/docker-hub/e2e/shapes-runtime' "$SHAPES/runtime/Dockerfile" ||
	fail "11: the broken template stopped the rewrite of runtime/Dockerfile: $(grep -m1 '^ARG REPO' "$SHAPES/runtime/Dockerfile")"
[[ -n $(ecr_digest docker-hub/e2e/shapes-runtime 8.0) ]] || fail "11: docker-hub/e2e/shapes-runtime:8.0 is not in ECR"
[[ -n $(ecr_digest docker-hub/e2e/shapes-base 1) ]] || fail "11: the image given by --build-arg, docker-hub/e2e/shapes-base:1, is not in ECR"
mark
built=0
for app in runtime custom; do
	read -ra BUILD_ARGS < <(cd "$SHAPES" && "$ECRBASE" build-args --account "$ACCOUNT" --region "$REGION" --build-arg BASE_IMAGE=e2e/shapes-base:1 "$app" 2>>"$LOGS/s11-build-args.err")
	if [[ $app == custom && " ${BUILD_ARGS[*]} " != *" BASE_IMAGE=$ECR_HOST/docker-hub/e2e/shapes-base:1 "* ]]; then
		fail "11: build-args does not give BASE_IMAGE as its ECR copy: ${BUILD_ARGS[*]}"
	fi
	if build "shapes-$app" "$SHAPES/$app" "${BUILD_ARGS[@]}"; then
		built=$((built + 1))
	else
		fail "11: docker build of $app with '${BUILD_ARGS[*]}' failed: $(build_error "shapes-$app")"
	fi
done
measure
((UP_REQ == 0)) || fail "11: $UP_REQ requests reached the upstream during the builds, want none"
RC=0
"$ECRBASE" rewrite --check --strict "$SHAPES/runtime" >/dev/null 2>&1 || RC=$?
((RC == 0)) || fail "11: rewrite --check --strict on the rewritten runtime/Dockerfile exited $RC, want 0"
summary "11 real-world shapes" "$built"

# ---------------------------------------------------------------- 12: ecrbase's own image

# ecrbase's Dockerfile, on a copy of the repository: its Go image comes from
# the upstream stand-in of public.ecr.aws (made here from this machine's Go
# and busybox), mirror --rewrite points it at "ECR", and the build downloads
# the modules from a file server of this machine's module cache on loopback
# (GOPROXY build argument), so nothing leaves the machine.
begin "12 ecrbase's own image: mirror --rewrite, docker build, --version"
SELF=$TMP/work/self
mkdir -p "$SELF"
# The files git knows of, as they are in the working tree.
(cd "$ROOT" && git ls-files -z -c -o --exclude-standard) |
	(cd "$ROOT" && tar --null --ignore-failed-read -T - -cf - 2>/dev/null) | tar -C "$SELF" -xf - ||
	die "12: copying the repository failed"
[[ -f $SELF/Dockerfile && -f $SELF/go.mod ]] || die "12: the copy of the repository has no Dockerfile or go.mod"
GO_REF=$(sed -n 's/^ARG GO_IMAGE=//p' "$SELF/Dockerfile")
[[ $GO_REF == public.ecr.aws/*:* ]] || die "12: the Dockerfile's Go image '$GO_REF' is not on public.ecr.aws"
GO_PATH=${GO_REF#public.ecr.aws/}
GO_TAG=${GO_PATH##*:}
GO_PATH=${GO_PATH%:*}
# A Go image: busybox for the shell, this machine's Go without its tests.
GOROOT_HOST=$(go env GOROOT)
GOIMG=$TMP/go-image
mkdir -p "$GOIMG"/{bin,etc/ssl/certs,root,tmp,go,usr/local}
chmod 1777 "$GOIMG/tmp"
cp /bin/busybox "$GOIMG/bin/busybox"
for a in $(/bin/busybox --list); do [[ -e $GOIMG/bin/$a ]] || ln -s busybox "$GOIMG/bin/$a"; done
cp /etc/ssl/certs/ca-certificates.crt "$GOIMG/etc/ssl/certs/"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$GOIMG/etc/passwd"
tar -C "$(dirname "$GOROOT_HOST")" --exclude=go/test --exclude=go/api --exclude=go/doc --exclude=go/misc \
	--exclude=testdata --exclude='*_test.go' -cf - "$(basename "$GOROOT_HOST")" | tar -C "$GOIMG/usr/local" -xf -
[[ -d $GOIMG/usr/local/go/bin ]] || mv "$GOIMG/usr/local/$(basename "$GOROOT_HOST")" "$GOIMG/usr/local/go"
UP_GO=127.0.0.1:$UP_PORT/$GO_PATH:$GO_TAG
tar -C "$GOIMG" -cf - . | "$DOCKER" import \
	-c 'ENV PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
	-c 'ENV GOPATH=/go' -c 'ENV GOTOOLCHAIN=local' -c 'WORKDIR /go' - "$UP_GO" >"$LOGS/s12-import.log" 2>&1 ||
	die "12: docker import of the Go image failed: $(tail -n 3 "$LOGS/s12-import.log")"
"$DOCKER" push "$UP_GO" >"$LOGS/s12-push.log" 2>&1 || die "12: docker push $UP_GO failed: $(tail -n 3 "$LOGS/s12-push.log")"
"$DOCKER" rmi "$UP_GO" >/dev/null 2>&1 || true
rm -rf "$GOIMG"
mark
RC=0
(cd "$SELF" && timeout 600 "$ECRBASE" mirror --rewrite "${MIRROR_ARGS[@]}" --registry-mirror "public.ecr.aws=$PROXY" Dockerfile >"$LOGS/s12.out" 2>"$LOGS/s12.err") || RC=$?
measure
((RC == 0)) || fail "12: mirror --rewrite of ecrbase's Dockerfile exited $RC: $(tail -n 3 "$LOGS/s12.err")"
((PX_GET == 1)) || fail "12: the counting proxy saw $PX_GET manifest GETs, want 1 (the Go image)"
ECR_GO=$(sed -n 's/^ARG GO_IMAGE=\${AWS_ACCOUNT_ID}.dkr.ecr.\${AWS_REGION}.amazonaws.com\///p' "$SELF/Dockerfile")
[[ -n $ECR_GO ]] || fail "12: the Go image was not rewritten to ECR: $(grep -m1 '^ARG GO_IMAGE' "$SELF/Dockerfile")"
want=$(up_digest "$GO_PATH" "$GO_TAG")
got=$(ecr_digest "${ECR_GO%:*}" "$GO_TAG")
[[ -n $want && $got == "$want" ]] || fail "12: ${ECR_GO%:*}:$GO_TAG is '$got' in ECR, '$want' upstream"
summary "12 own image, mirror" 1

begin "12 ecrbase's own image: docker build from ECR, modules from loopback"
# The module cache has every module the build needs (a no-op when the
# tests ran here before; on a fresh machine it fills it).
(cd "$ROOT" && go mod download) >"$LOGS/s12-mod-download.log" 2>&1 || die "12: go mod download failed: $(tail -n 3 "$LOGS/s12-mod-download.log")"
GP_PORT=$(free_port)
start goproxy busybox httpd -f -v -p "127.0.0.1:$GP_PORT" -h "$(go env GOMODCACHE)/cache/download"
wait_until "module file server" 20 curl -s -o /dev/null "http://127.0.0.1:$GP_PORT/"
GP_MARK=$(wc -l <"$LOGS/goproxy.err")
SELF_VERSION=e2e-$(date +%s)
SELF_REV=$(git -C "$ROOT" rev-parse HEAD 2>/dev/null || echo 0000000000000000000000000000000000000000)
read -ra BUILD_ARGS < <(cd "$SELF" && "$ECRBASE" build-args --account "$ACCOUNT" --region "$REGION" Dockerfile)
mark
RC=0
# --network=host: the build reaches the module file server on loopback. The
# image pulls go through dockerd and are counted in the access logs.
timeout 1200 "$DOCKER" build --network=host --progress=plain -t e2e-ecrbase "${BUILD_ARGS[@]}" \
	--build-arg "GOPROXY=http://127.0.0.1:$GP_PORT" --build-arg "VERSION=$SELF_VERSION" --build-arg "REVISION=$SELF_REV" \
	"$SELF" >"$LOGS/build-self.log" 2>&1 || RC=$?
measure
((RC == 0)) || fail "12: docker build of ecrbase's own image exited $RC: $(build_error self)"
((UP_REQ == 0)) || fail "12: $UP_REQ requests reached the upstream during the build, want none"
((ECR_GET > 0)) || fail "12: the build pulled no manifest from ECR"
tail -n +$((GP_MARK + 1)) "$LOGS/goproxy.err" >"$TMP/window-goproxy.log"
GP_OK=$(grep -c 'response:200' "$TMP/window-goproxy.log" || true)
GP_BAD=$(grep 'response:' "$TMP/window-goproxy.log" | grep -vc 'response:200' || true)
((GP_OK > 0)) || fail "12: the build fetched no module from the loopback module proxy"
((GP_BAD == 0)) || fail "12: the module proxy answered $GP_BAD requests with an error"
! grep -Eq 'proxy\.golang\.org|sum\.golang\.org|dial tcp|lookup ' "$LOGS/build-self.log" ||
	fail "12: the build tried to reach the network: $(grep -Em1 'proxy\.golang\.org|sum\.golang\.org|dial tcp|lookup ' "$LOGS/build-self.log")"
if ((RC == 0)); then
	out=$("$DOCKER" run --rm --network=none e2e-ecrbase --version 2>&1) || fail "12: docker run e2e-ecrbase --version failed: $out"
	[[ $(head -n 1 <<<"$out") == "ecrbase $SELF_VERSION" ]] || fail "12: --version in the image says '$(head -n 1 <<<"$out")', want 'ecrbase $SELF_VERSION'"
	js=$("$DOCKER" run --rm --network=none e2e-ecrbase --version --json 2>&1)
	jq -e --arg v "$SELF_VERSION" --arg r "$SELF_REV" '.version == $v and .revision == $r' <<<"$js" >/dev/null ||
		fail "12: --version --json in the image says $(tr -d '\n' <<<"$js"), want version $SELF_VERSION, revision $SELF_REV"
	user=$("$DOCKER" image inspect -f '{{.Config.User}}' e2e-ecrbase)
	[[ $user == 65532:65532 ]] || fail "12: the image runs as '$user', want 65532:65532"
	# At run time: a folder root owns cannot be written, one 65532 owns can.
	for owner in 0 65532; do
		d=$TMP/work/self-run-$owner
		mkdir -p "$d"
		printf 'FROM docker.io/library/alpine:3.20\n' >"$d/Dockerfile"
		chown -R "$owner:$owner" "$d"
		chmod 755 "$d"
		chmod 644 "$d/Dockerfile"
		RC=0
		"$DOCKER" run --rm --network=none -v "$d:/work" e2e-ecrbase rewrite -w . >"$LOGS/s12-run-$owner.log" 2>&1 || RC=$?
		if ((owner == 0)); then
			((RC != 0)) && grep -q 'FROM docker.io/library/alpine:3.20' "$d/Dockerfile" ||
				fail "12: ecrbase in its image wrote into a folder only root may write (exit $RC): it runs as root"
		else
			((RC == 0)) && grep -q 'amazonaws.com/docker-hub/library/alpine:3.20' "$d/Dockerfile" ||
				fail "12: ecrbase in its image could not rewrite a Dockerfile its user owns (exit $RC): $(tail -n 2 "$LOGS/s12-run-$owner.log")"
		fi
	done
fi
summary "12 own image, build" 1
log "12: ecrbase's image built in ${SECS}s, $GP_OK module files from the loopback proxy, $ECR_GET manifest GETs at ECR"

# ---------------------------------------------------------------- 13: many builds at once

# As many CodeBuild builds starting in the same minute: E2E_MANY processes
# (default 20) mirror overlapping catalogues of images ECR does not have yet.
MANY=${E2E_MANY:-20}
begin "13 $MANY mirror processes at once on overlapping images"
declare -A MANY_SEEDED
MANY_REFS=()
for i in 1 2 3 4 5 6; do
	flags=""
	((i % 3 == 0)) && flags="-platforms linux/amd64,linux/arm64"
	# shellcheck disable=SC2086 # flags are words
	out=$(seed_up $flags "e2e-many/app$i:1") || die "seeding e2e-many/app$i upstream failed"
	MANY_SEEDED[e2e-many/app$i]=${out##* }
	MANY_REFS+=("e2e-many/app$i")
done
# Quotas are scenario 5's subject: here the builds may spend what they need,
# and the pulls they spend are reported.
curl -fs -X POST "$PROXY/_hubproxy/quota?limit=10000&remaining=10000" >/dev/null
mark
many_pids=()
for ((p = 0; p < MANY; p++)); do
	list=$TMP/many-$p.txt
	printf '# build %d\n' "$p" >"$list"
	for ((j = 0; j < 4; j++)); do
		printf 'docker.io/%s:1\n' "${MANY_REFS[$(((p + j) % ${#MANY_REFS[@]}))]}" >>"$list"
	done
	timeout 300 "$ECRBASE" mirror "${MIRROR_ARGS[@]}" --images-from "$list" >"$LOGS/s13-$p.out" 2>"$LOGS/s13-$p.err" </dev/null 9>&- &
	many_pids+=("$!")
done
many_failed=0
for ((p = 0; p < MANY; p++)); do
	if ! wait "${many_pids[$p]}"; then
		many_failed=$((many_failed + 1))
		fail "13: mirror process $p exited non-zero: $(tail -n 2 "$LOGS/s13-$p.err" | tr '\n' ' ')"
	fi
done
measure
for path in "${MANY_REFS[@]}"; do
	got=$(ecr_digest "docker-hub/$path" 1)
	[[ $got == "${MANY_SEEDED[$path]}" ]] || fail "13: ECR docker-hub/$path:1 is '$got', want the upstream ${MANY_SEEDED[$path]}"
done
((many_failed == 0)) && pass "13: $MANY processes exited 0; $UP_GET manifest GETs upstream, $ECR_PUT manifest PUTs to ECR"
summary "13 many builds at once" "${#MANY_REFS[@]}"

# ---------------------------------------------------------------- summary

print_summary
if ((${#FAILURES[@]} > 0)); then
	exit 1
fi
