# shellcheck shell=bash
# A throwaway Mosquitto broker on loopback for the broker tests. Meant to be sourced:
#
#     trap stop_test_mosquitto EXIT     # set first: stops it and removes its directory
#     source .ci/mosquitto.sh           # starts it, exports WALLWATCH_TEST_MQTT=mqtt://127.0.0.1:PORT
#
# Installs Debian's `mosquitto` and `mosquitto-clients` if `mosquitto` or `mosquitto_pub` is
# missing, writes a copy of assets/mosquitto.conf with a free port on 127.0.0.1, its persistence
# directory and the current user into a fresh temporary directory, and starts it in the
# background. Quiet on success; on failure prints the broker's log and returns non-zero.
# Sourcing it again while its broker runs does nothing.
#
# The tests that need a broker (tests/broker.rs) start their own on a free port from the same
# file (they kill and restart it); WALLWATCH_TEST_MQTT is for hand runs and the benchmark.

_wallwatch_mqtt_fail() {
    echo "mosquitto.sh: $*" >&2
    local log=${_WALLWATCH_MQTT_DIR:-/nonexistent}/broker.log
    if [[ -s $log ]]; then
        echo "---- $log" >&2
        tail -n 40 "$log" >&2
    fi
    return 1
}

# shellcheck source=.ci/free-port.sh
source "$(dirname "${BASH_SOURCE[0]}")/free-port.sh"

start_test_mosquitto() {
    local PATH="$PATH:/usr/sbin:/sbin"
    if [[ -n ${_WALLWATCH_MQTT_PID:-} ]] && kill -0 "$_WALLWATCH_MQTT_PID" 2>/dev/null; then
        return 0
    fi
    if ! command -v mosquitto >/dev/null || ! command -v mosquitto_pub >/dev/null; then
        local log
        log=$(mktemp)
        if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mosquitto mosquitto-clients; } >"$log" 2>&1; then
            tail -n 40 "$log" >&2
            rm -f "$log"
            _wallwatch_mqtt_fail "could not install mosquitto with apt-get"
            return 1
        fi
        rm -f "$log"
        command -v mosquitto >/dev/null || { _wallwatch_mqtt_fail "mosquitto installed but not found"; return 1; }
    fi
    local here
    here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
    _WALLWATCH_MQTT_DIR=$(mktemp -d "${TMPDIR:-/tmp}/wallwatch-mqtt.XXXXXX") ||
        { _wallwatch_mqtt_fail "could not make a temporary directory"; return 1; }
    local dir=$_WALLWATCH_MQTT_DIR port attempt
    for attempt in 1 2 3 4 5; do
        port=$(_wallwatch_free_port) || { _wallwatch_mqtt_fail "no free port found"; return 1; }
        {
            cat "$here/assets/mosquitto.conf"
            echo "user $(id -un)"
            echo "persistence_location $dir/"
            echo "listener $port 127.0.0.1"
        } >"$dir/mosquitto.conf"
        mosquitto -c "$dir/mosquitto.conf" >"$dir/broker.log" 2>&1 &
        _WALLWATCH_MQTT_PID=$!
        local i
        for i in $(seq 1 50); do
            if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
                export WALLWATCH_TEST_MQTT="mqtt://127.0.0.1:$port"
                return 0
            fi
            kill -0 "$_WALLWATCH_MQTT_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill "$_WALLWATCH_MQTT_PID" 2>/dev/null
        wait "$_WALLWATCH_MQTT_PID" 2>/dev/null
    done
    _wallwatch_mqtt_fail "the broker did not start"
}

stop_test_mosquitto() {
    if [[ -n ${_WALLWATCH_MQTT_PID:-} ]]; then
        kill "$_WALLWATCH_MQTT_PID" 2>/dev/null && wait "$_WALLWATCH_MQTT_PID" 2>/dev/null
    fi
    if [[ -n ${_WALLWATCH_MQTT_DIR:-} && -d $_WALLWATCH_MQTT_DIR ]]; then
        rm -rf "$_WALLWATCH_MQTT_DIR"
    fi
    unset _WALLWATCH_MQTT_PID _WALLWATCH_MQTT_DIR WALLWATCH_TEST_MQTT
}

start_test_mosquitto
