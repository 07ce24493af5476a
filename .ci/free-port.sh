# Sourced by .ci/postgres.sh and .ci/mosquitto.sh.
# Prints a TCP port on 127.0.0.1 that nothing listens on.
_wallwatch_free_port() {
    local port try
    for try in $(seq 1 50); do
        port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return
        fi
    done
    return 1
}
