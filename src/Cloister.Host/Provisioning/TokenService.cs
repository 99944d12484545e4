using System.Text.Json;
using Cloister.Runtime.Provisioning;
using Cloister.Runtime.Vsock;

namespace Cloister.Host.Provisioning;

/// <summary>
/// The token service on vsock 7005: each connection gets one JSON line and is closed, the token fetched before boot for
/// the first, a fresh <see cref="TokenResponse"/> for each later one, or <c>{"error": "…"}</c> when none can be had.
/// </summary>
public sealed class TokenService
{
    private readonly Func<CancellationToken, Task<TokenResponse>> _fetch;
    private readonly TimeProvider _timeProvider;
    private readonly Action<string> _notice;
    private TokenResponse? _prefetched;

    /// <summary>Creates the service.</summary>
    /// <param name="prefetched">The token fetched before boot, handed to the first connection unless it has expired by then.</param>
    /// <param name="fetch">Fetches a fresh token; throws <see cref="ProvisionerUnavailableException"/> when it cannot.</param>
    /// <param name="timeProvider">The clock that decides whether the prefetched token has expired.</param>
    /// <param name="notice">Receives one line per connection (never the token).</param>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    public TokenService(TokenResponse prefetched, Func<CancellationToken, Task<TokenResponse>> fetch, TimeProvider timeProvider, Action<string> notice)
    {
        ArgumentNullException.ThrowIfNull(prefetched);
        ArgumentNullException.ThrowIfNull(fetch);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(notice);
        _prefetched = prefetched;
        _fetch = fetch;
        _timeProvider = timeProvider;
        _notice = notice;
    }

    /// <summary>Answers one connection with one line and ends its writes.</summary>
    /// <param name="stream">The enclave's connection; the caller disposes it.</param>
    /// <param name="cancellationToken">Cancels fetching and writing.</param>
    /// <returns>A task that completes once the line is written.</returns>
    /// <exception cref="IOException">The connection failed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task ServeAsync(VsockStream stream, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        byte[] line;
        var prefetched = Interlocked.Exchange(ref _prefetched, null);
        if (prefetched is not null && prefetched.ExpiresAt > _timeProvider.GetUtcNow())
        {
            line = JsonSerializer.SerializeToUtf8Bytes(prefetched, ProvisioningJson.Default.TokenResponse);
            _notice($"provisioning: gave the enclave the token fetched before boot (valid until {prefetched.ExpiresAt:u})");
        }
        else
        {
            try
            {
                var fresh = await _fetch(cancellationToken);
                line = JsonSerializer.SerializeToUtf8Bytes(fresh, ProvisioningJson.Default.TokenResponse);
                _notice($"provisioning: gave the enclave a fresh token (valid until {fresh.ExpiresAt:u})");
            }
            catch (ProvisionerUnavailableException ex)
            {
                line = JsonSerializer.SerializeToUtf8Bytes(new ProvisioningError { Error = ex.Message }, ProvisioningJson.Default.ProvisioningError);
                _notice($"provisioning: no token for the enclave: {ex.Message}");
            }
        }

        await stream.WriteAsync(line, cancellationToken);
        await stream.WriteAsync("\n"u8.ToArray(), cancellationToken);
        stream.CompleteWrites();
    }
}
