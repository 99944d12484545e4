using System.Formats.Cbor;
using Cloister.Testing;

namespace Cloister.Attestation.Tests.Editing;

/// <summary>
/// Re-encodes a COSE_Sign1 with edited payload entries, keeping the original protected header and signature: enough
/// to build documents that are wrong in one place, which the verifier must reject before or at the signature.
/// </summary>
internal sealed class CoseEdit
{
    private readonly List<KeyValuePair<string, byte[]>> _entries = [];
    private byte[] _protectedHeader;
    private readonly byte[] _signature;

    private CoseEdit(byte[] protectedHeader, byte[] signature)
    {
        _protectedHeader = protectedHeader;
        _signature = signature;
    }

    public static CoseEdit Of(byte[] cose)
    {
        var reader = new CborReader(cose, CborConformanceMode.Lax);
        reader.ReadStartArray();
        var protectedHeader = reader.ReadByteString();
        reader.SkipValue();
        var payload = new CborReader(reader.ReadByteString(), CborConformanceMode.Lax);
        var edit = new CoseEdit(protectedHeader, reader.ReadByteString());
        payload.ReadStartMap();
        while (payload.PeekState() != CborReaderState.EndMap)
        {
            edit._entries.Add(new(payload.ReadTextString(), payload.ReadEncodedValue().ToArray()));
        }

        return edit;
    }

    public CoseEdit Set(string key, Action<CborWriter> write)
    {
        var value = Encode(write);
        var index = _entries.FindIndex(e => e.Key == key);
        if (index < 0)
        {
            _entries.Add(new(key, value));
        }
        else
        {
            _entries[index] = new(key, value);
        }

        return this;
    }

    public CoseEdit SetBytes(string key, byte[] value) => Set(key, w => w.WriteByteString(value));

    /// <summary>Sets a text string of exactly these bytes, valid UTF-8 or not (a .NET string cannot carry invalid UTF-8).</summary>
    public CoseEdit SetRawText(string key, byte[] utf8)
    {
        var encoded = Encode(w => w.WriteByteString(utf8));
        // A text string's header differs from a byte string's only in the major type: 3 (0x60) instead of 2 (0x40).
        encoded[0] += 0x20;
        return Set(key, w => w.WriteEncodedValue(encoded));
    }

    public CoseEdit SetCaBundle(IEnumerable<byte[]> certificates) => Set("cabundle", w =>
    {
        w.WriteStartArray(null);
        foreach (var certificate in certificates)
        {
            w.WriteByteString(certificate);
        }

        w.WriteEndArray();
    });

    public CoseEdit Remove(string key)
    {
        _entries.RemoveAll(e => e.Key == key);
        return this;
    }

    /// <summary>Adds an entry even if the key exists (a duplicate key).</summary>
    public CoseEdit Append(string key, Action<CborWriter> write)
    {
        _entries.Add(new(key, Encode(write)));
        return this;
    }

    public CoseEdit WithProtectedHeader(byte[] header)
    {
        _protectedHeader = header;
        return this;
    }

    public byte[] Payload()
    {
        var writer = new CborWriter(CborConformanceMode.Lax);
        writer.WriteStartMap(_entries.Count);
        foreach (var (key, value) in _entries)
        {
            writer.WriteTextString(key);
            writer.WriteEncodedValue(value);
        }

        writer.WriteEndMap();
        return writer.Encode();
    }

    public byte[] ToCose() => CoseEnvelope.Untagged(_protectedHeader, Payload(), _signature);

    private static byte[] Encode(Action<CborWriter> write)
    {
        var writer = new CborWriter(CborConformanceMode.Lax);
        write(writer);
        return writer.Encode();
    }
}
