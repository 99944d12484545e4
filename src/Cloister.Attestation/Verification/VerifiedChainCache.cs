using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using Cloister.Attestation.Documents;

namespace Cloister.Attestation.Verification;

/// <summary>SHA-256 of a document's certificate and cabundle, each length-prefixed so no two chains share a key.</summary>
internal readonly record struct ChainKey(ulong A, ulong B, ulong C, ulong D)
{
    public static ChainKey Of(AttestationDocument document)
    {
        var length = sizeof(int) * 2 + document.Certificate.Length;
        foreach (var certificate in document.CaBundle)
        {
            length += sizeof(int) + certificate.Length;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            BinaryPrimitives.WriteInt32BigEndian(buffer, document.CaBundle.Count);
            var written = sizeof(int) + Append(buffer.AsSpan(sizeof(int)), document.Certificate);
            foreach (var certificate in document.CaBundle)
            {
                written += Append(buffer.AsSpan(written), certificate);
            }

            Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
            SHA256.HashData(buffer.AsSpan(0, written), hash);
            return new(
                BinaryPrimitives.ReadUInt64LittleEndian(hash),
                BinaryPrimitives.ReadUInt64LittleEndian(hash[8..]),
                BinaryPrimitives.ReadUInt64LittleEndian(hash[16..]),
                BinaryPrimitives.ReadUInt64LittleEndian(hash[24..]));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static int Append(Span<byte> destination, byte[] value)
    {
        BinaryPrimitives.WriteInt32BigEndian(destination, value.Length);
        value.CopyTo(destination[sizeof(int)..]);
        return sizeof(int) + value.Length;
    }
}

/// <summary>
/// Verified chains by <see cref="ChainKey"/>, bounded: lookups are lock-free; an insertion (which follows four
/// signature checks, so is rare and slow anyway) takes a lock, first drops chains that have expired and then, if
/// still full, the oldest. A capacity of 0 caches nothing.
/// </summary>
internal sealed class VerifiedChainCache(int capacity)
{
    private readonly ConcurrentDictionary<ChainKey, VerifiedChain> _entries = new();
    private readonly Lock _insertion = new();
    private long _sequence;

    public int Count => _entries.Count;

    public bool TryGet(ChainKey key, [MaybeNullWhen(false)] out VerifiedChain chain) => _entries.TryGetValue(key, out chain);

    /// <summary>
    /// Caches <paramref name="chain"/> and returns the entry to use: another thread's if it got there first, or
    /// <paramref name="chain"/> itself, uncached when the capacity is 0 (the caller then retires it after use).
    /// </summary>
    public (VerifiedChain Chain, bool Cached) Add(ChainKey key, VerifiedChain chain, DateTimeOffset now)
    {
        if (capacity == 0)
        {
            return (chain, false);
        }

        lock (_insertion)
        {
            if (_entries.TryGetValue(key, out var existing))
            {
                chain.LeafKeys.Retire();
                return (existing, true);
            }

            if (_entries.Count >= capacity)
            {
                MakeRoom(now);
            }

            chain.Sequence = ++_sequence;
            _entries[key] = chain;
            return (chain, true);
        }
    }

    private void MakeRoom(DateTimeOffset now)
    {
        foreach (var (key, entry) in _entries)
        {
            if (entry.Summary.NotAfter < now)
            {
                Evict(key);
            }
        }

        while (_entries.Count >= capacity)
        {
            var oldest = default(KeyValuePair<ChainKey, VerifiedChain>);
            foreach (var entry in _entries)
            {
                if (oldest.Value is null || entry.Value.Sequence < oldest.Value.Sequence)
                {
                    oldest = entry;
                }
            }

            Evict(oldest.Key);
        }
    }

    private void Evict(ChainKey key)
    {
        if (_entries.TryRemove(key, out var evicted))
        {
            evicted.LeafKeys.Retire();
        }
    }
}
