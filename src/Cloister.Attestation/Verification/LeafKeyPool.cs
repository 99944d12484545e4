using System.Security.Cryptography;

namespace Cloister.Attestation.Verification;

/// <summary>
/// ECDsa instances for one leaf public key. The BCL does not document ECDsa as safe for concurrent use, so each
/// verification rents its own instance; importing the key costs far less than a verification but is still worth
/// skipping on the cached path. Lock-free: a fixed set of slots swapped with <see cref="Interlocked"/>.
/// </summary>
internal sealed class LeafKeyPool
{
    private readonly byte[] _subjectPublicKeyInfo;
    private readonly ECDsa?[] _idle = new ECDsa?[Math.Clamp(Environment.ProcessorCount, 1, 16)];
    private volatile bool _retired;

    /// <param name="subjectPublicKeyInfo">The leaf's key, for importing more instances.</param>
    /// <param name="imported">An instance already imported from it (the chain check needed one); the pool owns it.</param>
    public LeafKeyPool(byte[] subjectPublicKeyInfo, ECDsa imported)
    {
        _subjectPublicKeyInfo = subjectPublicKeyInfo;
        _idle[0] = imported;
    }

    public ECDsa Rent()
    {
        for (var i = 0; i < _idle.Length; i++)
        {
            if (Interlocked.Exchange(ref _idle[i], null) is { } key)
            {
                return key;
            }
        }

        var created = ECDsa.Create();
        created.ImportSubjectPublicKeyInfo(_subjectPublicKeyInfo, out _);
        return created;
    }

    public void Return(ECDsa key)
    {
        if (!_retired)
        {
            for (var i = 0; i < _idle.Length; i++)
            {
                if (Interlocked.CompareExchange(ref _idle[i], key, null) is null)
                {
                    // Retire may have drained the slots just before this key went in.
                    if (_retired)
                    {
                        Drain();
                    }

                    return;
                }
            }
        }

        key.Dispose();
    }

    /// <summary>Disposes the idle keys; keys still rented are disposed when they come back.</summary>
    public void Retire()
    {
        _retired = true;
        Drain();
    }

    private void Drain()
    {
        for (var i = 0; i < _idle.Length; i++)
        {
            Interlocked.Exchange(ref _idle[i], null)?.Dispose();
        }
    }
}
