#!/usr/bin/env bash
# Nonce handshakes under pressure, against the sample (samples/hello) in the simulator, through `cloister run`'s attested
# port (each connection handed over to the supervisor; every nonce SNI costs a fresh key, an NSM document and a
# certificate, admitted by the supervisor's IssuanceGuard: docs/attested-tls.md, "The guard on the expensive path").
#   1. burst  BURST (200) handshakes at once, each with its own nonce SNI `<base64 nonce>.attest.localhost`.
#             Prints the fraction served within DEADLINE (5 s) and the p50/p99 latency of those served.
#             Target: at least 90 % served within 5 s on 2 cores.
#   2. flood  after the token bucket has refilled, nonce handshakes at FLOOD_FACTOR (10) × the guard's sustained rate
#             (RATE, 32/s by default) for FLOOD_SECONDS (10 s), and meanwhile plain handshakes (SNI `localhost`, the base
#             certificate) at PLAIN_RATE (10/s). Prints the nonce handshakes served and refused, and the plain ones' success
#             rate and p50/p99 latency. Target: plain handshakes still served (the flood gets the guard's rate, no more).
# The clients are Python asyncio processes (their TLS handshakes run in OpenSSL), on the same two cores as the enclave:
# the burst one, then the flood and the plain handshakes in a process each, so the flood's backlog never delays the
# plain handshakes' clock. A flood rate the client cannot reach on a loaded machine shows in the rate it prints.
# Needs openssl and python3.
source "$(dirname "${BASH_SOURCE[0]}")/sample-harness.sh"
burst="${BURST:-200}"
deadline="${DEADLINE:-5}"
rate="${RATE:-32}"
flood_factor="${FLOOD_FACTOR:-10}"
flood_seconds="${FLOOD_SECONDS:-10}"
plain_rate="${PLAIN_RATE:-10}"
refill_seconds="${REFILL_SECONDS:-9}"
require openssl python3

"$root/samples/hello/build.sh" >/dev/null 2>&1
start_cloister
port=$(published_port 8443)
wait_for "$port"

python3 - "$port" "$burst" "$deadline" "$rate" "$flood_factor" "$flood_seconds" "$plain_rate" "$refill_seconds" <<'PY'
import asyncio, base64, concurrent.futures, multiprocessing, os, ssl, sys, time

port, burst, deadline = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
rate, flood_factor, flood_seconds, plain_rate, refill_seconds = float(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6]), float(sys.argv[7]), float(sys.argv[8])

def nonce_name():
    return base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode() + ".attest.localhost"

def plain_name():
    return "localhost"

async def handshake(context, server_name):
    """Seconds the handshake took, or None when it was refused or did not finish within the deadline."""
    start = time.perf_counter()
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", port, ssl=context, server_hostname=server_name, ssl_handshake_timeout=deadline), deadline)
    except (OSError, ssl.SSLError, asyncio.TimeoutError, ConnectionError):
        return None
    took = time.perf_counter() - start
    writer.close()
    try:
        await writer.wait_closed()
    except (OSError, ssl.SSLError, ConnectionError):
        pass
    return took

def client_context():
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context

async def at_once(count, server_name):
    context = client_context()
    return await asyncio.gather(*(handshake(context, server_name()) for _ in range(count)))

async def paced(count_per_second, seconds, server_name):
    """Starts handshakes at a steady rate; returns their results and how long starting them took."""
    context, tasks, start = client_context(), [], time.perf_counter()
    for i in range(int(count_per_second * seconds)):
        delay = start + i / count_per_second - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(handshake(context, server_name())))
    started = time.perf_counter() - start
    return await asyncio.gather(*tasks), started

# Each load runs in a process of its own: one event loop driving the flood would delay the plain handshakes it times.
def run_paced(count_per_second, seconds, server_name):
    return asyncio.run(paced(count_per_second, seconds, server_name))

def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")

def ms(seconds):
    return f"{seconds * 1000:.0f} ms"

# Warm-up: the base certificate's first handshakes, outside the measurement.
asyncio.run(at_once(3, plain_name))
results = asyncio.run(at_once(burst, nonce_name))
served = [took for took in results if took is not None]
print(f"burst: {len(served)}/{burst} nonce handshakes served within {deadline:.0f} s ({100 * len(served) / burst:.1f} %; target >= 90 %), "
      f"p50 {ms(percentile(served, 0.5))}, p99 {ms(percentile(served, 0.99))}")

# The burst emptied the token bucket: it refills before the flood, which then meets the sustained rate.
time.sleep(refill_seconds)
flood_rate = flood_factor * rate
# Forked, not spawned: this script comes from stdin, which a spawned process could not import.
with concurrent.futures.ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("fork")) as pool:
    flood = pool.submit(run_paced, flood_rate, flood_seconds, nonce_name)
    plain = pool.submit(run_paced, plain_rate, flood_seconds, plain_name)
    (flood_results, flood_started), (plain_results, _) = flood.result(), plain.result()
flood_served = sum(took is not None for took in flood_results)
plain_served = [took for took in plain_results if took is not None]
print(f"flood: {len(flood_results)} nonce handshakes started in {flood_started:.1f} s ({len(flood_results) / flood_started:.0f}/s, asked {flood_rate:.0f}/s = "
      f"{flood_factor:.0f}x the guard's {rate:.0f}/s): {flood_served} served (the bucket's burst, then its rate), {len(flood_results) - flood_served} refused")
print(f"plain during the flood: {len(plain_served)}/{len(plain_results)} served within {deadline:.0f} s ({100 * len(plain_served) / len(plain_results):.1f} %), "
      f"p50 {ms(percentile(plain_served, 0.5))}, p99 {ms(percentile(plain_served, 0.99))}")
PY
machine_line "burst $burst, flood ${flood_factor}x${rate}/s for ${flood_seconds} s with plain handshakes at ${plain_rate}/s"
