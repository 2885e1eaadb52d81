#!/bin/sh
# SPDX-License-Identifier: MIT
# man/check.sh — the manual pages are clean and in step with the headers:
#   1. `mandoc -T lint -W warning` says nothing about any page;
#   2. every function of api/chunkarena.h, and every public function-like
#      macro of it and of api/chunkarena.hpp (CA_* but CA_PRIVATE_* and
#      CA_ATTR_*), has a page of its name: a family page or a link page;
#   3. every link page points to a family page;
#   4. each function's prototype in its family page's SYNOPSIS (.Ft/.Fn)
#      is the header's, word for word (spaces aside): change one, and this
#      fails until the other follows.
# The header is read through the C preprocessor (comments gone, macros
# expanded) and the attributes dropped. SKIP (77) without mandoc.
#
# Environment (man/Makefile sets it): srcdir (this directory), top_srcdir,
# CPP, MANDOC, CA_MAN_PAGES (family pages), CA_MAN_LINKS (NAME:PAGE ...).
set -u
srcdir=${srcdir:-$(dirname "$0")}
top_srcdir=${top_srcdir:-$srcdir/..}
cpp=${CPP:-cpp}
mandoc=${MANDOC:-mandoc}
pages=${CA_MAN_PAGES:?}
links=${CA_MAN_LINKS:?}

command -v "$mandoc" >/dev/null 2>&1 || { echo "check.sh: SKIP: no mandoc"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mancheck.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
bad=0
complain() {
    echo "check.sh: $*"
    bad=1
}

# 1. lint
for p in $pages; do
    out=$("$mandoc" -T lint -W warning "$srcdir/$p" 2>&1) || true
    [ -z "$out" ] || complain "$p: $out"
done

# The names that have a page, and where link pages point.
: > "$tmp/named"
for p in $pages; do
    echo "${p%.3}" >> "$tmp/named"
done
for l in $links; do
    name=${l%%:*}
    target=${l#*:}
    echo "$name" >> "$tmp/named"
    # 3. link targets
    echo " $pages " | grep -q " $target.3 " || complain "link $name points to $target.3, which is not a page"
done

# The header's prototypes, one a line: NAME PROTOTYPE-WITHOUT-SPACES, e.g.
# ca_alloc void*ca_alloc(ca_arena*arena,size_tsize)
# shellcheck disable=SC2086  # $cpp may be "gcc -E"
$cpp -P -I"${top_builddir:-..}/api" "$top_srcdir/api/chunkarena.h" > "$tmp/header.i" 2> "$tmp/cpp.err" ||
    { cat "$tmp/cpp.err"; echo "check.sh: $cpp failed on api/chunkarena.h"; exit 1; }
tr '\n' ' ' < "$tmp/header.i" | tr ';{}' '\n\n\n' |
    sed -E 's/__attribute__ *\(\(([^()]|\([^()]*\))*\)\)//g; s/[[:space:]]+/ /g; s/^ //; s/ $//' |
    grep -E '^[^(]*(^|[ *])ca_[a-z_]+ ?\(' | grep -v -E '^typedef|ca_arena_static_' |
    awk '{ p = $0; n = $0; sub(/ ?\(.*/, "", n); sub(/.*[ *]/, "", n); gsub(/ /, "", p); print n, p }' |
    sort -u > "$tmp/protos"
[ -s "$tmp/protos" ] || { echo "check.sh: no prototypes found in api/chunkarena.h"; exit 1; }
cut -d' ' -f1 "$tmp/protos" > "$tmp/functions"

# The public function-like macros of both headers.
cat "$top_srcdir/api/chunkarena.h" "$top_srcdir/api/chunkarena.hpp" |
    sed -n -E 's/^#[[:space:]]*define[[:space:]]+(CA_[A-Z0-9_]+)\(.*/\1/p' |
    grep -v -E '^CA_(PRIVATE|ATTR)_' | sort -u > "$tmp/macros"

# 2. a page for every name
while read -r name; do
    grep -qx "$name" "$tmp/named" || complain "$name has no page (add it to ca_man_links or ca_man_pages in man/Makefile.am)"
done < "$tmp/functions"
while read -r name; do
    grep -qx "$name" "$tmp/named" || complain "macro $name has no page"
done < "$tmp/macros"

# 4. prototypes: .Ft TYPE then .Fn NAME "ARG" "ARG" -> TYPENAME(ARG,ARG), spaces dropped
for p in $pages; do
    awk '
        /^\.Sh / { syn = ($2 == "SYNOPSIS") }
        syn && /^\.Ft / { ft = substr($0, 5); next }
        syn && /^\.Fn / && ft != "" {
            rest = substr($0, 5); name = rest; sub(/ .*/, "", name)
            args = substr(rest, length(name) + 1)
            sub(/^ *"/, "", args); sub(/" *$/, "", args); gsub(/" +"/, ",", args)
            proto = ft name "(" args ")"; gsub(/[ \t]/, "", proto)
            print name, proto; ft = ""
        }' "$srcdir/$p" >> "$tmp/man-protos"
done
while read -r fn want; do
    if ! grep -qxF "$fn $want" "$tmp/man-protos"; then
        got=$(grep "^$fn " "$tmp/man-protos" | cut -d' ' -f2)
        complain "$fn: the header says $want, the man pages ${got:-(nothing)}"
    fi
done < "$tmp/protos"

[ "$bad" -eq 0 ] || exit 1
echo "check.sh: $(wc -w <<EOT
$pages
EOT
) pages lint clean; $(wc -l < "$tmp/functions") functions and $(wc -l < "$tmp/macros") macros have pages; every prototype matches the header"
