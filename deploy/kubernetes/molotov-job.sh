#!/bin/sh
# molotov-job.sh runs a molotov-go load test as a Kubernetes Indexed Job
# (job.yaml, beside this script) and brings its shares' results back through
# the pods' logs. Guide: docs/distributed.md.
#
#   molotov-job.sh render            print job.yaml with its placeholders filled in
#   molotov-job.sh create            render | kubectl create -f -
#   molotov-job.sh wait [JOB]        wait until every pod of the job has ended
#   molotov-job.sh collect [JOB] [DIR]
#                                    write each finished pod's result to DIR/result-INDEX.json
#                                    (DIR: results-JOB); then: molotov merge DIR/result-*.json
#
# Variables (render, create):
#   IMAGE     the load test's image (required)
#   JOB       the job's name (default: loadtest); also the default JOB of wait and collect
#   SEGMENTS  the number of pods, each running one share (default: 4)
#   TARGET    the base URL to load; empty: the BaseURL of the test's code
#   START_AT  when the run starts, RFC 3339 in UTC (default: START_IN seconds from now)
#   START_IN  seconds from now to the start (default: 120): time enough for every
#             pod to be scheduled, pull the image and run GlobalSetup
#   MANIFEST  the job template (default: job.yaml beside this script)
# Variables (wait): POLL, seconds between two looks at the job (default: 10).
set -eu

die() {
	echo "molotov-job.sh: $*" >&2
	exit 2
}

# sed_escape escapes a value for the right-hand side of a sed s|...|...|.
sed_escape() {
	printf '%s' "$1" | sed 's/[\\&|]/\\&/g'
}

# start_at prints the time START_IN seconds from now, RFC 3339 in UTC, with
# GNU, BSD or BusyBox date.
start_at() {
	t=$(($(date +%s) + ${START_IN:-120}))
	date -u -d "@$t" +%Y-%m-%dT%H:%M:%SZ 2>/dev/null || date -u -r "$t" +%Y-%m-%dT%H:%M:%SZ
}

render() {
	[ -n "${IMAGE:-}" ] || die "IMAGE is not set: name the load test's image, like IMAGE=registry.example.com/team/loadtest:v1"
	segments=${SEGMENTS:-4}
	case $segments in
	'' | *[!0-9]* | 0) die "SEGMENTS is '$segments': give the number of pods, a whole number from 1" ;;
	esac
	manifest=${MANIFEST:-$(dirname "$0")/job.yaml}
	[ -r "$manifest" ] || die "cannot read the job template $manifest: set MANIFEST to job.yaml"
	# Comment lines keep their placeholders.
	sed -e "/^[[:space:]]*#/!s|\${JOB}|$(sed_escape "${JOB:-loadtest}")|g" \
		-e "/^[[:space:]]*#/!s|\${IMAGE}|$(sed_escape "$IMAGE")|g" \
		-e "/^[[:space:]]*#/!s|\${SEGMENTS}|$segments|g" \
		-e "/^[[:space:]]*#/!s|\${START_AT}|$(sed_escape "${START_AT:-$(start_at)}")|g" \
		-e "/^[[:space:]]*#/!s|\${TARGET}|$(sed_escape "${TARGET:-}")|g" \
		"$manifest"
}

# conditions prints the types of the job's true conditions.
conditions() {
	kubectl get "job/$1" -o 'jsonpath={.status.conditions[?(@.status=="True")].type}'
}

wait_job() {
	job=${1:-${JOB:-loadtest}}
	while :; do
		c=$(conditions "$job") || die "cannot read job/$job"
		case " $c " in
		*" Complete "*)
			echo "job/$job: complete: every share ran"
			return 0
			;;
		*" Failed "*)
			echo "job/$job: failed: some shares have no result (see kubectl get pods -l job-name=$job); collect the others and merge them with molotov merge -partial" >&2
			return 1
			;;
		esac
		sleep "${POLL:-10}"
	done
}

# extract prints the JSON result between the markers of a pod's log; it
# fails unless there is exactly one, whole.
extract() {
	awk '
		$0 == "-----BEGIN MOLOTOV RESULT-----" { inside = 1; begun++; next }
		$0 == "-----END MOLOTOV RESULT-----" { if (inside) ended++; inside = 0; next }
		inside { print }
		END { exit !(begun == 1 && ended == 1) }
	'
}

collect() {
	job=${1:-${JOB:-loadtest}}
	dir=${2:-results-$job}
	n=$(kubectl get "job/$job" -o 'jsonpath={.spec.completions}') || die "cannot read job/$job"
	mkdir -p "$dir"
	pods=$(kubectl get pods -l "job-name=$job" --field-selector=status.phase=Succeeded \
		-o 'jsonpath={range .items[*]}{.metadata.annotations.batch\.kubernetes\.io/job-completion-index}{" "}{.metadata.name}{"\n"}{end}') ||
		die "cannot list the pods of job/$job"
	got=0
	missing=""
	i=0
	while [ "$i" -lt "$n" ]; do
		pod=$(printf '%s\n' "$pods" | awk -v i="$i" '$1 == i { print $2; exit }')
		out="$dir/result-$i.json"
		if [ -z "$pod" ]; then
			missing="$missing $i"
		elif kubectl logs "pod/$pod" | extract >"$out.tmp"; then
			mv "$out.tmp" "$out"
			got=$((got + 1))
		else
			rm -f "$out.tmp"
			echo "molotov-job.sh: pod/$pod (share $i): no whole result between the markers of its log" >&2
			missing="$missing $i"
		fi
		i=$((i + 1))
	done
	echo "collected $got of $n results into $dir"
	if [ -n "$missing" ]; then
		echo "molotov-job.sh: no result for share(s)$missing of $n; molotov merge -partial merges the others" >&2
		return 1
	fi
}

case ${1:-} in
render) render ;;
create)
	manifest=$(render)
	printf '%s\n' "$manifest" | kubectl create -f -
	;;
wait) wait_job "${2:-}" ;;
collect) collect "${2:-}" "${3:-}" ;;
*) die "usage: molotov-job.sh render|create|wait [JOB]|collect [JOB] [DIR]" ;;
esac
