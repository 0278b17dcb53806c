#!/usr/bin/env bash
# vendor.sh refreshes the uPlot chart library that the HTML report embeds,
# from the npm registry, and checks it against uplot/SHA256SUMS.
#
#   ./vendor.sh           fetch the pinned version (uplot/VERSION) and check it
#   ./vendor.sh 1.6.33    fetch another version and record its checksums
#
# npm pack checks the registry's integrity hash of the package; the
# checksums here pin the files themselves, so a silent change fails.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/uplot"

files=(uPlot.iife.min.js uPlot.min.css LICENSE)
pinned=$(<VERSION)
version=${1:-$pinned}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "uplot@$version" >/dev/null && tar xzf "uplot-$version.tgz")
for f in "${files[@]}"; do
	src=$tmp/package/dist/$f
	[[ $f == LICENSE ]] && src=$tmp/package/LICENSE
	cp "$src" "$tmp/$f"
done

if [[ $version == "$pinned" ]]; then
	(cd "$tmp" && sha256sum --check --quiet "$OLDPWD/SHA256SUMS")
	for f in "${files[@]}"; do cp "$tmp/$f" "$f"; done
	echo "uPlot $version: files match SHA256SUMS"
else
	for f in "${files[@]}"; do cp "$tmp/$f" "$f"; done
	echo "$version" >VERSION
	sha256sum "${files[@]}" >SHA256SUMS
	echo "uPlot $version vendored: review the diff, run the report's tests, and update docs/report.md"
fi
