using Cloister.Enclave.Host;
using Cloister.Kms.Credentials;
using Cloister.Runtime.Vsock;

namespace Cloister.Enclave.Kms;

/// <summary>
/// The AWS credentials the KMS proxy signs with, from the host's credentials service (vsock 7004): one connection and
/// one line per fetch, kept until five minutes before they expire. Callers that arrive while a fetch is under way
/// share it.
/// </summary>
internal sealed class HostCredentialsSource
{
    /// <summary>How long before <see cref="AwsCredentials.Expiration"/> credentials are fetched again.</summary>
    public static readonly TimeSpan RefreshBefore = TimeSpan.FromMinutes(5);

    /// <summary>The bound on one fetch, whoever waits for it.</summary>
    public static readonly TimeSpan FetchTimeout = TimeSpan.FromSeconds(10);

    private readonly VsockTransport _transport;
    private readonly TimeProvider _timeProvider;
    private readonly Lock _lock = new();
    private AwsCredentials? _cached;
    private Task<AwsCredentials>? _fetching;

    public HostCredentialsSource(VsockTransport transport, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _transport = transport;
        _timeProvider = timeProvider;
    }

    /// <summary>The cached credentials while they are fresh, else those of a fetch (this caller's or one already under way).</summary>
    /// <exception cref="KmsCredentialsException">The host did not give credentials: unreachable, an error line, not the wire format, or no answer within <see cref="FetchTimeout"/>.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled (the fetch goes on for the others).</exception>
    public async ValueTask<AwsCredentials> GetAsync(CancellationToken cancellationToken)
    {
        Task<AwsCredentials> fetching;
        lock (_lock)
        {
            if (_cached is { } cached && (cached.Expiration is not { } expiration || _timeProvider.GetUtcNow() < expiration - RefreshBefore))
            {
                return cached;
            }

            // A fetch belongs to no single caller: one caller giving up must not fail the others that share it. Only a
            // fetch still under way is shared; a finished one (a failure, or credentials now stale) is never reused.
            if (_fetching is not { IsCompleted: false })
            {
                _fetching = FetchAndKeepAsync();
            }

            fetching = _fetching;
        }

        return await fetching.WaitAsync(cancellationToken);
    }

    private async Task<AwsCredentials> FetchAndKeepAsync()
    {
        var credentials = await FetchAsync();
        lock (_lock)
        {
            _cached = credentials;
        }

        return credentials;
    }

    private async Task<AwsCredentials> FetchAsync()
    {
        // Off the caller's synchronous path, which holds the lock.
        await Task.Yield();
        using var timeout = new CancellationTokenSource(FetchTimeout, _timeProvider);
        try
        {
            await using var stream = await _transport.ConnectAsync(new VsockEndpoint(VsockEndpoint.HostCid, VsockEndpoint.KmsCredentialsPort), timeout.Token);
            return KmsCredentialsLine.Parse(await HostLine.ReadAsync(stream, KmsCredentialsLine.MaxLength, timeout.Token));
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException)
        {
            throw new KmsCredentialsException($"no AWS credentials from the host (vsock {VsockEndpoint.KmsCredentialsPort}): {ex.Message}", ex);
        }
        catch (OperationCanceledException ex)
        {
            throw new KmsCredentialsException($"no AWS credentials from the host (vsock {VsockEndpoint.KmsCredentialsPort}) within {FetchTimeout.TotalSeconds} s", ex);
        }
    }
}
