using System.Globalization;
using System.Security.Cryptography;

namespace Cloister.Enclave.Ingress;

/// <summary>
/// Keeps a port's base certificate fresh: made at start, replaced (new key, new document) when a third of its
/// document's signing-certificate life is left, on a <see cref="TimeProvider"/> timer. A failed rotation keeps serving the
/// current certificate, logs, and tries again a minute later.
/// </summary>
internal sealed class BaseCertificateRotation : IAsyncDisposable
{
    /// <summary>How long after a failed rotation the next try comes.</summary>
    public static readonly TimeSpan RetryInterval = TimeSpan.FromMinutes(1);

    // Never rotate sooner than this after the last rotation, even if the NSM hands out a signing certificate that is
    // already old: rotating again at once would only get the same one.
    private static readonly TimeSpan s_minimumLifetime = TimeSpan.FromMinutes(1);

    private readonly AttestedCertificateFactory _factory;
    private readonly TimeProvider _timeProvider;
    private readonly Func<string, Task> _log;
    private readonly string _name;
    private readonly ITimer _timer;
    private readonly CancellationTokenSource _stopping = new();
    private volatile BaseCertificate _current;
    private Task _rotating = Task.CompletedTask;

    private BaseCertificateRotation(AttestedCertificateFactory factory, TimeProvider timeProvider, Func<string, Task> log, string name, BaseCertificate first)
    {
        _factory = factory;
        _timeProvider = timeProvider;
        _log = log;
        _name = name;
        _current = first;
        _timer = timeProvider.CreateTimer(_ => _rotating = RotateAsync(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        Schedule(first.RotateAt);
    }

    /// <summary>The certificate to serve now.</summary>
    public BaseCertificate Current => _current;

    /// <summary>Makes the first certificate and starts the rotation.</summary>
    /// <param name="name">Names the port in log lines.</param>
    /// <exception cref="IOException">The NSM is unreachable, refused the request, or answered a document that does not decode.</exception>
    /// <exception cref="ArgumentException">A hostname is not a DNS name.</exception>
    public static async Task<BaseCertificateRotation> StartAsync(AttestedCertificateFactory factory, TimeProvider timeProvider, Func<string, Task> log, string name, CancellationToken cancellationToken)
    {
        var first = await IssueAsync(factory, timeProvider, cancellationToken);
        return new BaseCertificateRotation(factory, timeProvider, log, name, first);
    }

    /// <summary>When a third of the signing certificate's life is left, but never within a minute of <paramref name="now"/>.</summary>
    public static DateTimeOffset RotationTime(ServedCertificate served, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(served);
        var life = served.SigningCertificateNotAfter - served.SigningCertificateNotBefore;
        var rotateAt = served.SigningCertificateNotAfter - (life / 3);
        return rotateAt > now + s_minimumLifetime ? rotateAt : now + s_minimumLifetime;
    }

    public async ValueTask DisposeAsync()
    {
        await _timer.DisposeAsync();
        await _stopping.CancelAsync();
        try
        {
            await _rotating;
        }
        catch (OperationCanceledException)
        {
        }

        _stopping.Dispose();
    }

    private static async Task<BaseCertificate> IssueAsync(AttestedCertificateFactory factory, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        var served = await factory.IssueAsync(nonce: null, cancellationToken);
        return new BaseCertificate(served, RotationTime(served, timeProvider.GetUtcNow()));
    }

    private void Schedule(DateTimeOffset at)
    {
        var due = at - _timeProvider.GetUtcNow();
        _timer.Change(due > TimeSpan.Zero ? due : TimeSpan.Zero, Timeout.InfiniteTimeSpan);
    }

    private async Task RotateAsync()
    {
        try
        {
            var next = await IssueAsync(_factory, _timeProvider, _stopping.Token);
            // Handshakes still under way keep the certificate they started with; the old one is left to the collector.
            _current = next;
            Schedule(next.RotateAt);
            await _log(Describe(_name, "rotated", next));
        }
        catch (Exception ex) when (ex is IOException or CryptographicException or ArgumentException)
        {
            Schedule(_timeProvider.GetUtcNow() + RetryInterval);
            await _log($"{_name}: rotating the base certificate failed, still serving {_current.Served.Sha256Thumbprint} until it works: {ex.Message}");
        }
        catch (ObjectDisposedException) when (_stopping.IsCancellationRequested)
        {
        }
    }

    /// <summary>The log line for a certificate now being served: its thumbprint, its document's expiry, its next rotation.</summary>
    public static string Describe(string name, string what, BaseCertificate certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return string.Create(
            CultureInfo.InvariantCulture,
            $"{name}: {what} the base certificate sha256:{certificate.Served.Sha256Thumbprint}; its document's signing certificate expires {certificate.Served.SigningCertificateNotAfter:u}, rotation at {certificate.RotateAt:u}");
    }
}
