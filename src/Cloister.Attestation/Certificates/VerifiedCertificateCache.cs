namespace Cloister.Attestation.Certificates;

/// <summary>
/// Successful verifications by (certificate SHA-256, host), each kept until its <see cref="AttestedTlsResult.ValidUntil"/>;
/// bounded: a full cache first drops what has expired, then what expires soonest. A capacity of 0 caches nothing.
/// One lock: an insertion follows a full verification (five signature checks), so contention is not the cost here.
/// </summary>
internal sealed class VerifiedCertificateCache(int capacity)
{
    private readonly Dictionary<(string Thumbprint, string Host), AttestedTlsResult> _entries = [];
    private readonly Lock _lock = new();

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count;
            }
        }
    }

    public AttestedTlsResult? Get(string thumbprint, string host, DateTimeOffset now)
    {
        lock (_lock)
        {
            if (!_entries.TryGetValue((thumbprint, host), out var result))
            {
                return null;
            }

            if (now < result.ValidUntil)
            {
                return result;
            }

            _entries.Remove((thumbprint, host));
            return null;
        }
    }

    public void Add(string host, AttestedTlsResult result, DateTimeOffset now)
    {
        if (capacity == 0)
        {
            return;
        }

        var key = (result.CertificateThumbprint, host);
        lock (_lock)
        {
            if (!_entries.ContainsKey(key) && _entries.Count >= capacity)
            {
                foreach (var expired in _entries.Where(e => e.Value.ValidUntil <= now).Select(e => e.Key).ToList())
                {
                    _entries.Remove(expired);
                }
            }

            if (!_entries.ContainsKey(key) && _entries.Count >= capacity)
            {
                _entries.Remove(_entries.MinBy(e => e.Value.ValidUntil).Key);
            }

            _entries[key] = result;
        }
    }
}
