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
free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 40000))
		[[ -z $(ss -Htln "sport = :$p") ]] && echo "$p" && return
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
"$ECRBASE" images --json "${ARGS[@]}" "$WORK" >"$TMP/images.json" 2>"$LOGS/images.err" ||
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
	echo
	echo "\$ ecrbase mirror --rewrite examples/python-app      # Docker Hub is $PROXY here"
	(cd "$app/.." && "$ECRBASE" mirror --rewrite "${MIRROR_ARGS[@]}" python-app) || die "ecrbase mirror --rewrite failed"
	echo
	echo "\$ diff -u Dockerfile (before) Dockerfile (after)"
	diff -u "$PRISTINE/python-app/Dockerfile" "$app/Dockerfile" || true
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
		grep -i warn "$err" | grep -Fq "$R_PATH" || fail "5 ($variant): no warning names $STALE"
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

# ---------------------------------------------------------------- summary

print_summary
if ((${#FAILURES[@]} > 0)); then
	exit 1
fi
