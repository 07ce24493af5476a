#!/usr/bin/env bash
# The packages: build the .deb and the .rpm (pkg/build.sh) and check them without installing
# anything of the project on this machine: every file is in each package, the extracted binary
# runs, the unit verifies and scores as hardened, the man pages render, bash loads the
# completion, a second start of the binary on the same state directory resumes the store (what
# an upgrade does to a running service), and the unit's system-call filter and address families
# allow every call the site made meanwhile (traced with strace).
#
# CI packages the debug build its tests made (WALLWATCH_PACKAGE_PROFILE=dev): the packaging is
# the same, without a second, optimised build of everything. Run it with
# WALLWATCH_PACKAGE_PROFILE=release to check the release packages.
set -euo pipefail
cd "$(dirname "$0")/.."

need() { command -v "$1" >/dev/null || { apt-get update -qq && apt-get install -y -qq "$2" >/dev/null; }; }
need rpm rpm
need man man-db
need systemd-analyze systemd
need strip binutils
need strace strace

# shellcheck source=pkg/tools.sh
source pkg/tools.sh
WALLWATCH_PACKAGE_PROFILE=${WALLWATCH_PACKAGE_PROFILE:-dev} pkg/build.sh

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
deb=$(ls target/pkg/wallwatch_"$version"-1_*.deb)
rpm_file=$(ls target/pkg/wallwatch-"$version"-1.*.rpm)
work=$(mktemp -d)
site_pid=
cleanup() {
    if [ -n "$site_pid" ]; then kill "$site_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

pages=$(cd target/pkg/man && ls ./*.1 | sed 's|^\./||')
expected="usr/bin/wallwatch
usr/lib/systemd/system/wallwatch.service
etc/wallwatch/wallwatch.toml
usr/share/bash-completion/completions/wallwatch
usr/share/fish/vendor_completions.d/wallwatch.fish
usr/share/doc/wallwatch/README.md
usr/share/doc/wallwatch/install.md"
# Only the path, from a listing of `ls -l` columns or of bare paths; leading ./ and / dropped.
paths() { awk '{print $NF}' | sed 's|^\./||; s|^/||'; }
has_all() { # $1: listing; the rest: paths it must hold
    local listing=$1; shift
    for p in "$@"; do
        grep -qxF "$p" <<<"$listing" || { echo "missing $p" >&2; return 1; }
    done
}

echo "== the .deb: $deb"
dpkg-deb --info "$deb"
deb_files=$(dpkg-deb --contents "$deb" | paths)
dpkg-deb --contents "$deb"
# shellcheck disable=SC2086
has_all "$deb_files" $expected usr/share/zsh/vendor-completions/_wallwatch \
    usr/share/doc/wallwatch/changelog.gz usr/share/doc/wallwatch/copyright \
    $(for p in $pages; do echo "usr/share/man/man1/$p.gz"; done)
[ "$(echo "$pages" | wc -l)" -ge 20 ] || { echo "too few man pages: $pages" >&2; exit 1; }
dpkg-deb --field "$deb" Package Version Depends Description | head -4
dpkg-deb --info "$deb" conffiles | grep -qx /etc/wallwatch/wallwatch.toml
dpkg-deb --info "$deb" postinst | grep -q "groupadd --system wallwatch"
# cargo-deb's systemd snippets: enabled and started on install, restarted after an upgrade.
dpkg-deb --info "$deb" postinst | grep -q "deb-systemd-helper"
dpkg-deb --info "$deb" postinst | grep -q "restart"

root="$work/root"
dpkg-deb -x "$deb" "$root"
echo "== the extracted binary"
"$root/usr/bin/wallwatch" --version
[ "$("$root/usr/bin/wallwatch" --version)" = "wallwatch $version" ]
# Stripped: no symbol table, no line tables.
if readelf -SW "$root/usr/bin/wallwatch" | grep -Eq ' \.(symtab|debug_(info|line|str|abbrev)) '; then
    echo "usr/bin/wallwatch is not stripped" >&2
    exit 1
fi

unit="$root/usr/lib/systemd/system/wallwatch.service"
echo "== systemd-analyze verify"
# In the extracted root, with this machine's units beside it (the targets it orders itself
# after) and its man pages (Documentation=): the unit and its command line as installed. Any
# complaint fails, not only those that make verify exit non-zero.
cp -an /usr/lib/systemd/system/. "$root/usr/lib/systemd/system/"
complaints=$(MANPATH="$root/usr/share/man" systemd-analyze verify --root="$root" "$unit" 2>&1) ||
    { echo "$complaints" >&2; exit 1; }
[ -z "$complaints" ] || { echo "$complaints" >&2; exit 1; }
echo "verified"
echo "== systemd-analyze security"
security=$(systemd-analyze security --offline=yes --root="$root" "$unit" 2>&1) || true
echo "$security" | grep -v '^✓' | tail -40
score=$(echo "$security" | sed -n 's/.*Overall exposure level for wallwatch.service: \([0-9.]*\).*/\1/p')
echo "exposure: $score"
awk -v s="$score" 'BEGIN { exit !(s != "" && s <= 2.0) }' || { echo "exposure $score > 2.0" >&2; exit 1; }

echo "== man pages"
for p in $pages; do
    rendered=$(MANWIDTH=80 man -l "$root/usr/share/man/man1/$p.gz" 2>&1)
    grep -q '^NAME' <<<"$rendered" || { echo "$p: $rendered" >&2; exit 1; }
done
echo "$(echo "$pages" | wc -l) pages render"
MANWIDTH=80 man -l "$root/usr/share/man/man1/wallwatch-serve.1.gz" | grep -A3 -- '--socket-group'

echo "== bash completion"
bash -c "source '$root/usr/share/bash-completion/completions/wallwatch' && complete -p wallwatch"
words=$(bash -c "source '$root/usr/share/bash-completion/completions/wallwatch'
    COMP_WORDS=(wallwatch se); COMP_CWORD=1; COMP_LINE='wallwatch se'; COMP_POINT=12
    _wallwatch wallwatch se wallwatch; echo \"\${COMPREPLY[*]}\"")
echo "wallwatch se<TAB>: $words"
grep -qw serve <<<"$words"

echo "== the .rpm: $rpm_file"
rpm -qip "$rpm_file"
rpm_files=$(rpm -qlp "$rpm_file" | paths)
rpm -qlp "$rpm_file"
# shellcheck disable=SC2086
has_all "$rpm_files" $expected usr/share/zsh/site-functions/_wallwatch \
    usr/share/doc/wallwatch/CHANGELOG.md \
    $(for p in $pages; do echo "usr/share/man/man1/$p.gz"; done)
rpm -qp --configfiles "$rpm_file" | grep -qx /etc/wallwatch/wallwatch.toml
rpm -qp --scripts "$rpm_file" | grep -q "groupadd --system wallwatch"
rpm -qp --scripts "$rpm_file" | grep -q "try-restart wallwatch.service"
# The same binary as the .deb's.
# (rpm2archive: rpm 4.18's rpm2cpio exits 1 after writing a whole, good payload.)
mkdir -p "$work/rpmroot"
rpm2archive - <"$rpm_file" | tar -xz -C "$work/rpmroot" ./usr/bin/wallwatch
cmp "$work/rpmroot/usr/bin/wallwatch" "$root/usr/bin/wallwatch"

echo "== an upgrade while it runs: the extracted binary twice on one state directory"
# As the unit runs it (its ExecStart=, with a group this machine has), with the packaged
# conffile, the paths moved into a temporary root; the first start under strace, to check the
# unit's system-call filter and address families below.
state="$work/state"
mkdir -p "$state" "$work/logs" "$work/run"
chmod 755 "$work" "$work/run"
group=$(getent group users >/dev/null && echo users || echo root)
sock="$work/run/wallwatch/default.sock"
serve() { # $1: which start; the rest: what runs it
    local which=$1; shift
    XDG_RUNTIME_DIR="$work/run" "$@" "$root/usr/bin/wallwatch" serve \
        --config "$root/etc/wallwatch/wallwatch.toml" --socket-group "$group" \
        --store "sqlite:$state/wallwatch.db" --http 127.0.0.1:0 \
        --http-token-file "$state/http.token" --log-file "$work/logs/wallwatch.log" --speed 20 \
        >"$work/summary-$which.json" 2>"$work/serve-$which.err" &
    site_pid=$!
    for _ in $(seq 600); do
        grep -q "serving the site at" "$work/serve-$which.err" && return 0
        sleep 0.1
    done
    cat "$work/serve-$which.err" >&2
    return 1
}
ww() { "$root/usr/bin/wallwatch" "$@"; }
day() { ww status --json --socket "$sock" | sed -n 's/.*"wall":{"day":\([0-9]*\).*/\1/p'; }
http() { # $1: method, $2: path; the answer's body
    local port
    port=$(grep -o '127\.0\.0\.1:[0-9]*' "$work/serve-1.err" | head -1 | cut -d: -f2)
    exec 3<>"/dev/tcp/127.0.0.1/$port"
    printf '%s %s HTTP/1.0\r\nAuthorization: Bearer %s\r\nContent-Length: 0\r\n\r\n' \
        "$1" "$2" "$(cat "$state/http.token")" >&3
    sed '1,/^\r$/d' <&3
    exec 3<&-
}
serve 1 strace -f -qq -o "$work/trace"
[ "$(stat -c '%a %G' "$sock")" = "660 $group" ]
[ "$(stat -c '%a %G' "$(dirname "$sock")")" = "750 $group" ]
for _ in $(seq 300); do [ "$(day)" -ge 3 ] && break; sleep 0.1; done
ww crews add --socket "$sock"
http GET /status | head -c 80 && echo
http POST /resume && echo
# SIGTERM to the site, as systemd sends it (strace, its parent, would only detach).
kill -TERM "$(pgrep -P "$site_pid" -x wallwatch)"
wait "$site_pid"
site_pid=
first=$(cat "$work/summary-1.json")
echo "first start: $first"
stored=$(sed -n 's/.*"readings":{"produced":\([0-9]*\),"stored":\([0-9]*\)}.*/\2/p' <<<"$first")
serve 2
grep "resuming run 1" "$work/serve-2.err"
[ "$(ww status --json --socket "$sock" | sed -n 's/.*"crews":\([0-9]*\).*/\1/p')" = 4 ]
ww stop --socket "$sock" >"$work/stop-2.json"
wait "$site_pid"
site_pid=
rows=$(ww readings --store "sqlite:$state/wallwatch.db" --format csv | tail -n +2 | wc -l)
echo "the second start resumed run 1 with its 4 crews; $rows readings stored in all, $stored by the first"
[ "$rows" -gt "$stored" ]
ls "$work/logs" | grep -q '^wallwatch\.log\.'

echo "== the unit's SystemCallFilter= and RestrictAddressFamilies= allow what the site did"
# A group's system calls, its nested groups expanded.
expand() {
    local item
    for item in "$@"; do
        case "$item" in
            @*) systemd-analyze syscall-filter "$item" | tail -n +2 | sed 's/^ *//' |
                    grep -v -e '^#' -e '^$' | while read -r sub; do expand "$sub"; done ;;
            *) echo "$item" ;;
        esac
    done
}
# The unit's lines in order: the first names what is allowed, `~` takes away, later ones add.
allowed=
while read -r line; do
    value=${line#SystemCallFilter=}
    # shellcheck disable=SC2086
    case "$value" in
        ~*) allowed=$(comm -23 <(sort -u <<<"$allowed") <(expand ${value#\~} | sort -u)) ;;
        *) allowed=$(sort -u <(echo "$allowed") <(expand $value)) ;;
    esac
done < <(grep '^SystemCallFilter=' "$unit")
used=$(sed -E 's/^[0-9]+ +//' "$work/trace" | grep -oE '^[a-z_0-9]+\(' | tr -d '(' | sort -u)
denied=$(comm -23 <(echo "$used") <(sort -u <<<"$allowed"))
echo "$(wc -l <<<"$used") distinct system calls, $(wc -l <<<"$allowed") allowed"
[ -z "$denied" ] || { echo "the unit would refuse: $denied" >&2; exit 1; }
families=$(grep -oE 'socket\(AF_[A-Z0-9]+' "$work/trace" | cut -d'(' -f2 | sort -u | tr '\n' ' ')
echo "address families: $families"
for f in $families; do
    grep -q "^RestrictAddressFamilies=.*\b$f\b" "$unit" || { echo "the unit would refuse $f" >&2; exit 1; }
done
echo "packages: ok"
