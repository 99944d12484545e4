using Cloister.Kms.Recipients;

namespace Cloister.Kms.Proxy;

/// <summary>
/// The recipient key and its attestation document, reused for a bounded time and number of calls (docs/kms.md, "Recipient
/// key reuse"): an RSA-2048 key takes 50–100 ms to make, a fresh one per call would cap the proxy near 10–20 calls a
/// second. A lifetime of zero makes a fresh key and document per call. Each call keeps the key it was given until it
/// disposes its lease, even if the key is replaced meanwhile; a replaced key is disposed when its last lease is.
/// </summary>
internal sealed class RecipientKeyCache : IDisposable
{
    private readonly Func<ReadOnlyMemory<byte>, CancellationToken, Task<byte[]>> _attest;
    private readonly TimeSpan _lifetime;
    private readonly long _maxUses;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _replacing = new(1, 1);
    private readonly Lock _lock = new();
    private Entry? _current;

    public RecipientKeyCache(Func<ReadOnlyMemory<byte>, CancellationToken, Task<byte[]>> attest, TimeSpan lifetime, long maxUses, TimeProvider time)
    {
        _attest = attest;
        _lifetime = lifetime;
        _maxUses = maxUses;
        _time = time;
    }

    /// <summary>A key and its document for one call.</summary>
    /// <exception cref="IOException">The attester failed (the NSM gave no document).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<Lease> AcquireAsync(CancellationToken cancellationToken)
    {
        if (_lifetime <= TimeSpan.Zero)
        {
            var fresh = await CreateAsync(cancellationToken);
            var only = fresh.Lease();
            fresh.Retire();
            return only;
        }

        if (TryLease() is { } lease)
        {
            return lease;
        }

        // One caller makes the next key; the others wait for it rather than each making one.
        await _replacing.WaitAsync(cancellationToken);
        try
        {
            if (TryLease() is { } leased)
            {
                return leased;
            }

            var entry = await CreateAsync(cancellationToken);
            lock (_lock)
            {
                _current?.Retire();
                _current = entry;
                return entry.Use();
            }
        }
        finally
        {
            _replacing.Release();
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _current?.Retire();
            _current = null;
        }

        _replacing.Dispose();
    }

    private Lease? TryLease()
    {
        lock (_lock)
        {
            if (_current is { } entry && _time.GetUtcNow() - entry.Created < _lifetime && entry.Uses < _maxUses)
            {
                return entry.Use();
            }

            return null;
        }
    }

    private async Task<Entry> CreateAsync(CancellationToken cancellationToken)
    {
        var key = new RecipientKey();
        try
        {
            var document = await _attest(key.SubjectPublicKeyInfo, cancellationToken);
            return new Entry(key, Convert.ToBase64String(document), _time.GetUtcNow());
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    /// <summary>One call's hold on a key: the key decrypts its answer, the document went into its request.</summary>
    internal sealed class Lease : IDisposable
    {
        private readonly Entry _entry;
        private int _disposed;

        public Lease(Entry entry)
        {
            _entry = entry;
        }

        public RecipientKey Key => _entry.Key;

        /// <summary>The attestation document binding <see cref="Key"/>, base64 as the request carries it.</summary>
        public string DocumentBase64 => _entry.DocumentBase64;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                _entry.Release();
            }
        }
    }

    internal sealed class Entry(RecipientKey key, string documentBase64, DateTimeOffset created)
    {
        private readonly Lock _lock = new();
        private int _leases;
        private bool _retired;

        public RecipientKey Key { get; } = key;

        public string DocumentBase64 { get; } = documentBase64;

        public DateTimeOffset Created { get; } = created;

        public long Uses { get; private set; }

        public Lease Use()
        {
            Uses++;
            return Lease();
        }

        public Lease Lease()
        {
            lock (_lock)
            {
                _leases++;
            }

            return new Lease(this);
        }

        public void Retire()
        {
            lock (_lock)
            {
                _retired = true;
                DisposeIfUnused();
            }
        }

        public void Release()
        {
            lock (_lock)
            {
                _leases--;
                DisposeIfUnused();
            }
        }

        private void DisposeIfUnused()
        {
            if (_retired && _leases == 0)
            {
                Key.Dispose();
            }
        }
    }
}
