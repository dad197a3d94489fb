#!/usr/bin/env bash
# Checks that every protocol section cited as `§n` or `§n.m` in the code (runtime/src, crates/, tests/,
# guest-sdk/), in docs/ and in the README is a heading of docs/protocol.md ("## n. …" or
# "### n.m …"). Prints each unresolved citation with its file and line; exits 1 if any.
set -euo pipefail
cd "$(dirname "$0")/.."
headings=$(grep -oE '^#{2,4} [0-9]+(\.[0-9]+)*' docs/protocol.md | awk '{print $2}')
status=0
count=0
while IFS=: read -r file line ref; do
  count=$((count + 1))
  n=${ref#§}
  if ! grep -qxF "$n" <<<"$headings"; then
    echo "$file:$line: $ref is not a heading of docs/protocol.md"
    status=1
  fi
done < <(grep -rnoE --exclude-dir=node_modules --exclude-dir=target --binary-files=without-match \
  '§ ?[0-9]+(\.[0-9]+)*' runtime/src crates tests guest-sdk docs README.md | sed 's/§ /§/')
echo "protocol references: $count checked"
exit "$status"
