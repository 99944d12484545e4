#!/bin/sh
# The test enclave: speaks the host protocol (status JSON lines on vsock 7000, log records on 7001) through ustream,
# then does what its first argument asks. It stands in for the enclave supervisor, whose real behaviour is another branch's.
set -u
V=/run/cloister/vsock
mkfifo /tmp/status /tmp/logs
/test/ustream connect "$V/3_7000.sock" < /tmp/status > /dev/null &
/test/ustream connect "$V/3_7001.sock" < /tmp/logs > /dev/null &
exec 3> /tmp/status 4> /tmp/logs
status() { echo "$1" >&3; }
log() { echo "stdout $1" >&4; }
finish() {
    status "{\"event\":\"exited\",\"code\":$1,\"signal\":null}"
    exec 3>&- 4>&-
    wait
    exit "$1"
}
status '{"event":"booting"}'
case "$1" in
exit)
    status '{"event":"ready"}'
    log "exiting with $2"
    echo "stderr about to exit" >&4
    # One line sent as two records, the first marked as continued (what the writer does past 8 KiB).
    echo "stdout+ joined-" >&4
    echo "stdout line" >&4
    finish "$2"
    ;;
killed)
    status "{\"event\":\"exited\",\"code\":null,\"signal\":$2}"
    exec 3>&- 4>&-
    wait
    exit $((128 + $2))
    ;;
crash)
    exit "$2"
    ;;
probe)
    log "pid $$"
    log "routes $(($(wc -l < /proc/net/route) - 1))"
    log "links $(ip -o link show | cut -d: -f2 | tr -d ' ' | tr '\n' ' ')"
    log "route-get $(ip route get 192.0.2.1 2>&1 | head -n 1)"
    if nc -w 2 127.0.0.1 "$2" < /dev/null > /dev/null 2>&1; then log "host-loopback reachable"; else log "host-loopback unreachable"; fi
    log "nsm $(test -S /run/cloister/nsm.sock && echo socket)"
    finish 0
    ;;
serve)
    socket="$V/${CLOISTER_SIMULATED_CID}_$2.sock"
    /test/ustream echo "$socket" &
    server=$!
    while [ ! -S "$socket" ]; do sleep 0.05; done
    trap 'log "got SIGTERM"; kill $server; finish 0' TERM
    status '{"event":"ready"}'
    wait $server
    ;;
allocate)
    status '{"event":"ready"}'
    # Holds $2 MiB in a shell variable; beyond the enclave's memory the kernel kills the shell first.
    data=$(head -c $(($2 * 1048576)) /dev/zero | tr '\0' x)
    log "held ${#data} bytes"
    finish 0
    ;;
ignore-term)
    trap '' TERM
    status '{"event":"ready"}'
    while :; do sleep 1; done
    ;;
esac
