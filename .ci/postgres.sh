# shellcheck shell=bash
# A throwaway PostgreSQL server on loopback for the tests. Meant to be sourced:
#
#     source .ci/postgres.sh            # starts it, exports WALLWATCH_TEST_POSTGRES_URL
#     trap stop_test_postgres EXIT      # stops it and removes its directory
#
# Installs Debian's `postgresql` if no initdb/pg_ctl can be found, runs initdb into a fresh
# temporary directory owned by the `postgres` user (the server refuses to run as root), starts it
# listening only on 127.0.0.1 on a free port with its socket in that directory and trust
# authentication (local test use only; fsync off), and creates the database `wallwatch_test`.
# Quiet on success; on failure prints what went wrong with the logs and returns non-zero.
# Sourcing it again while its server runs does nothing.

_wallwatch_pg_fail() {
    echo "postgres.sh: $*" >&2
    local log
    for log in "${_WALLWATCH_PG_DIR:-/nonexistent}/setup.log" "${_WALLWATCH_PG_DIR:-/nonexistent}/server.log"; do
        if [[ -s $log ]]; then
            echo "---- $log" >&2
            tail -n 40 "$log" >&2
        fi
    done
    return 1
}

# Runs a command as the postgres user when we are root, else as ourselves.
_wallwatch_pg_as() {
    if [[ $EUID -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# Prints the directory holding initdb and pg_ctl, or nothing.
_wallwatch_pg_bindir() {
    local initdb dir
    if initdb=$(command -v initdb 2>/dev/null); then
        dir=$(dirname "$(readlink -f "$initdb")")
        if [[ -x $dir/pg_ctl && -x $dir/postgres ]]; then
            echo "$dir"
            return
        fi
    fi
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [[ -x $dir/initdb && -x $dir/pg_ctl && -x $dir/postgres ]]; then
            echo "$dir"
            return
        fi
    done
}

# shellcheck source=.ci/free-port.sh
source "$(dirname "${BASH_SOURCE[0]}")/free-port.sh"

start_test_postgres() {
    local PATH="$PATH:/usr/sbin:/sbin" # runuser and useradd live there
    if [[ -n ${_WALLWATCH_PG_DIR:-} && -d $_WALLWATCH_PG_DIR/data && -n ${WALLWATCH_TEST_POSTGRES_URL:-} ]] &&
        _wallwatch_pg_as "$_WALLWATCH_PG_BIN/pg_ctl" -D "$_WALLWATCH_PG_DIR/data" status >/dev/null 2>&1; then
        return 0
    fi

    local bin
    bin=$(_wallwatch_pg_bindir)
    if [[ -z $bin ]]; then
        local log
        log=$(mktemp)
        if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql; } >"$log" 2>&1; then
            tail -n 40 "$log" >&2
            rm -f "$log"
            _wallwatch_pg_fail "could not install postgresql with apt-get"
            return 1
        fi
        rm -f "$log"
        bin=$(_wallwatch_pg_bindir)
        [[ -n $bin ]] || { _wallwatch_pg_fail "postgresql installed but no initdb/pg_ctl found"; return 1; }
    fi

    if [[ $EUID -eq 0 ]] && ! id -u postgres >/dev/null 2>&1; then
        useradd --system --no-create-home --shell /usr/sbin/nologin postgres ||
            { _wallwatch_pg_fail "could not create the postgres user"; return 1; }
    fi

    _WALLWATCH_PG_BIN=$bin
    _WALLWATCH_PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/wallwatch-pg.XXXXXX") ||
        { _wallwatch_pg_fail "could not make a temporary directory"; return 1; }
    chmod 755 "$_WALLWATCH_PG_DIR"
    if [[ $EUID -eq 0 ]]; then
        chown postgres: "$_WALLWATCH_PG_DIR"
    fi
    local dir=$_WALLWATCH_PG_DIR
    if ! _wallwatch_pg_as "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C --no-sync \
        >"$dir/setup.log" 2>&1; then
        _wallwatch_pg_fail "initdb failed"
        return 1
    fi

    local port attempt started=
    for attempt in 1 2 3 4 5; do
        port=$(_wallwatch_free_port) || { _wallwatch_pg_fail "no free port found"; return 1; }
        if _wallwatch_pg_as "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
            -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
            start >>"$dir/setup.log" 2>&1; then
            started=1
            break
        fi
    done
    [[ -n $started ]] || { _wallwatch_pg_fail "the server did not start"; return 1; }
    _WALLWATCH_PG_PORT=$port

    if ! _wallwatch_pg_as "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres wallwatch_test \
        >>"$dir/setup.log" 2>&1; then
        _wallwatch_pg_fail "createdb failed"
        return 1
    fi
    export WALLWATCH_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/wallwatch_test"
}

stop_test_postgres() {
    local PATH="$PATH:/usr/sbin:/sbin"
    local dir=${_WALLWATCH_PG_DIR:-}
    if [[ -n $dir && -d $dir ]]; then
        if [[ -d $dir/data ]]; then
            _wallwatch_pg_as "$_WALLWATCH_PG_BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 ||
                echo "postgres.sh: the test server did not stop cleanly" >&2
        fi
        rm -rf "$dir"
    fi
    unset _WALLWATCH_PG_DIR _WALLWATCH_PG_PORT WALLWATCH_TEST_POSTGRES_URL
}

start_test_postgres
