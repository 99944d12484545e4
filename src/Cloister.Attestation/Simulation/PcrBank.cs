using System.Security.Cryptography;
using Cloister.Attestation.Nsm;

namespace Cloister.Attestation.Simulation;

/// <summary>
/// The NSM's 32 SHA-384 PCRs and their locks, with the device's error semantics (reference/eif-nsm-spec.md §5.3).
/// Not thread-safe: <see cref="SoftwareNsm"/> serializes access.
/// </summary>
internal sealed class PcrBank
{
    public const int Count = 32;
    public const int Length = SHA384.HashSizeInBytes;

    /// <summary>PCRs 0–15 are locked once the enclave has booted.</summary>
    public const int BootLockedCount = 16;

    private readonly byte[][] _values = [.. Enumerable.Range(0, Count).Select(_ => new byte[Length])];
    private readonly bool[] _locked = new bool[Count];

    /// <summary><c>SHA384(current ‖ data)</c>, the TPM-style extend.</summary>
    public static byte[] ExtendValue(ReadOnlySpan<byte> current, ReadOnlySpan<byte> data)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA384);
        hash.AppendData(current);
        hash.AppendData(data);
        return hash.GetHashAndReset();
    }

    /// <summary>Sets an unlocked PCR's value outright, as boot measurement does before the enclave runs.</summary>
    public void Set(int index, ReadOnlySpan<byte> value)
    {
        value.CopyTo(_values[index]);
    }

    public IEnumerable<ushort> LockedIndexes() =>
        Enumerable.Range(0, Count).Where(i => _locked[i]).Select(i => (ushort)i);

    /// <summary>Copies of the locked PCRs by index: what an attestation document carries.</summary>
    public Dictionary<int, byte[]> LockedValues() =>
        LockedIndexes().ToDictionary(i => (int)i, i => (byte[])_values[i].Clone());

    public NsmResponse Describe(int index) =>
        index >= Count ? Error(NsmErrorCode.InvalidIndex) : new DescribePcrResponse(_locked[index], (byte[])_values[index].Clone());

    public NsmResponse Extend(int index, ReadOnlySpan<byte> data)
    {
        if (CheckWritable(index) is { } error)
        {
            return error;
        }

        _values[index] = ExtendValue(_values[index], data);
        return new ExtendPcrResponse((byte[])_values[index].Clone());
    }

    public NsmResponse Lock(int index)
    {
        if (CheckWritable(index) is { } error)
        {
            return error;
        }

        _locked[index] = true;
        return LockPcrResponse.Instance;
    }

    /// <summary>Locks <c>[0, range)</c>; locking PCRs that are already locked is not an error here, unlike <see cref="Lock"/>.</summary>
    public NsmResponse LockRange(int range)
    {
        if (range > Count)
        {
            return Error(NsmErrorCode.InvalidIndex);
        }

        _locked.AsSpan(0, range).Fill(true);
        return LockPcrsResponse.Instance;
    }

    private NsmErrorResponse? CheckWritable(int index) =>
        index >= Count ? Error(NsmErrorCode.InvalidIndex)
        : _locked[index] ? Error(NsmErrorCode.ReadOnlyIndex)
        : null;

    private static NsmErrorResponse Error(NsmErrorCode code) => new(code);
}
