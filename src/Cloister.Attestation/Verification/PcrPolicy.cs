using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;

namespace Cloister.Attestation.Verification;

/// <summary>
/// The PCR values a relying party accepts: ANY-OF a list of sets, each set mapping PCR indices to the exact bytes
/// expected. A document matches when, for at least one set, every PCR of that set is present and equal. There is no
/// "allow all": a policy has at least one set, and every set at least one PCR.
/// </summary>
public sealed class PcrPolicy
{
    private const string MeasurementsKey = "Measurements";
    private const string HashAlgorithmKey = "HashAlgorithm";
    private const string PcrKeyPrefix = "PCR";

    private readonly KeyValuePair<int, byte[]>[][] _sets;

    /// <summary>Creates a policy that accepts a document matching any one of <paramref name="anyOf"/>.</summary>
    /// <param name="anyOf">The acceptable PCR sets; the values are copied.</param>
    /// <exception cref="ArgumentNullException"><paramref name="anyOf"/> or one of its sets is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">
    /// There are no sets, a set is empty, an index is outside 0–31, or a value is not 32, 48 or 64 bytes.
    /// </exception>
    public PcrPolicy(IEnumerable<IReadOnlyDictionary<int, byte[]>> anyOf)
    {
        ArgumentNullException.ThrowIfNull(anyOf);
        var sets = new List<KeyValuePair<int, byte[]>[]>();
        foreach (var set in anyOf)
        {
            ArgumentNullException.ThrowIfNull(set, nameof(anyOf));
            sets.Add(CopySet(set, sets.Count));
        }

        if (sets.Count == 0)
        {
            throw new ArgumentException("a PCR policy needs at least one PCR set; an empty policy would accept every enclave", nameof(anyOf));
        }

        _sets = [.. sets];
        Sets = [.. _sets.Select(set => (IReadOnlyDictionary<int, byte[]>)set.ToDictionary(p => p.Key, p => p.Value.ToArray()))];
    }

    /// <summary>The acceptable sets (copies), in the order given.</summary>
    public IReadOnlyList<IReadOnlyDictionary<int, byte[]>> Sets { get; }

    /// <summary>A policy with a single PCR set.</summary>
    /// <param name="pcrs">The PCRs that must all match.</param>
    /// <returns>The policy.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="pcrs"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">See the constructor.</exception>
    public static PcrPolicy Exactly(IReadOnlyDictionary<int, byte[]> pcrs) => new([pcrs]);

    /// <summary>
    /// A single-set policy from the JSON that <c>nitro-cli build-enclave</c> and <c>describe-eif</c> print:
    /// <c>{"Measurements":{"HashAlgorithm":"…","PCR0":"hex",…}}</c>.
    /// </summary>
    /// <param name="utf8Json">The JSON document, UTF-8.</param>
    /// <returns>The policy.</returns>
    /// <exception cref="FormatException">See <see cref="ReadMeasurements"/>.</exception>
    public static PcrPolicy FromMeasurementsJson(ReadOnlySpan<byte> utf8Json) => Exactly(ReadMeasurements(utf8Json));

    /// <summary>
    /// Reads the PCRs from nitro-cli's measurements JSON. Other top-level keys (as in <c>describe-eif</c>) and
    /// <c>HashAlgorithm</c> are ignored; every other key inside <c>Measurements</c> must be <c>PCR0</c>…<c>PCR31</c>
    /// with a hex value (either case) of 32, 48 or 64 bytes.
    /// </summary>
    /// <param name="utf8Json">The JSON document, UTF-8.</param>
    /// <returns>The PCRs by index.</returns>
    /// <exception cref="FormatException">
    /// The JSON is malformed, has no <c>Measurements</c> object or no PCR in it, or a key or value is wrong (the
    /// message names the key).
    /// </exception>
    public static IReadOnlyDictionary<int, byte[]> ReadMeasurements(ReadOnlySpan<byte> utf8Json)
    {
        try
        {
            var reader = new Utf8JsonReader(utf8Json);
            Dictionary<int, byte[]>? pcrs = null;
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw new FormatException("measurements JSON: expected an object");
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.GetString()!;
                reader.Read();
                if (name != MeasurementsKey)
                {
                    reader.Skip();
                }
                else if (pcrs is not null)
                {
                    throw new FormatException($"measurements JSON: duplicate key '{MeasurementsKey}'");
                }
                else
                {
                    pcrs = ReadMeasurementsObject(ref reader);
                }
            }

            if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
            {
                throw new FormatException("measurements JSON: content after the top-level object");
            }

            return pcrs ?? throw new FormatException($"measurements JSON: no '{MeasurementsKey}' object");
        }
        catch (JsonException ex)
        {
            throw new FormatException($"measurements JSON: not valid JSON: {ex.Message}", ex);
        }
        catch (InvalidOperationException ex)
        {
            // Utf8JsonReader checks a string's UTF-8 only when the string is read.
            throw new FormatException($"measurements JSON: a key or value is not valid UTF-8: {ex.Message}", ex);
        }
    }

    /// <summary>Checks <paramref name="pcrs"/> against the sets; on failure reports the first set's first mismatch.</summary>
    internal PcrMismatch? Match(IReadOnlyDictionary<int, byte[]> pcrs)
    {
        foreach (var set in _sets)
        {
            if (FirstMismatch(set, pcrs) < 0)
            {
                return null;
            }
        }

        var first = _sets[0];
        var (index, expected) = first[FirstMismatch(first, pcrs)];
        return new PcrMismatch(index, expected.ToArray(), pcrs.TryGetValue(index, out var actual) ? actual.ToArray() : null, _sets.Length);
    }

    private static int FirstMismatch(KeyValuePair<int, byte[]>[] set, IReadOnlyDictionary<int, byte[]> pcrs)
    {
        for (var i = 0; i < set.Length; i++)
        {
            if (!pcrs.TryGetValue(set[i].Key, out var actual) || !CryptographicOperations.FixedTimeEquals(actual, set[i].Value))
            {
                return i;
            }
        }

        return -1;
    }

    private static KeyValuePair<int, byte[]>[] CopySet(IReadOnlyDictionary<int, byte[]> set, int position)
    {
        if (set.Count == 0)
        {
            throw new ArgumentException($"PCR set {position} is empty; it would match every enclave", nameof(set));
        }

        var copy = new List<KeyValuePair<int, byte[]>>(set.Count);
        foreach (var (index, value) in set.OrderBy(p => p.Key))
        {
            if (index is < 0 or >= 32)
            {
                throw new ArgumentException($"PCR set {position}: index {index} is outside 0–31", nameof(set));
            }

            if (value?.Length is not (32 or 48 or 64))
            {
                throw new ArgumentException($"PCR set {position}: PCR{index} is {value?.Length ?? 0} bytes; a PCR is 32, 48 or 64", nameof(set));
            }

            copy.Add(new(index, value.ToArray()));
        }

        return [.. copy];
    }

    private static Dictionary<int, byte[]> ReadMeasurementsObject(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new FormatException($"measurements JSON: '{MeasurementsKey}' is not an object");
        }

        var pcrs = new Dictionary<int, byte[]>();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var key = reader.GetString()!;
            reader.Read();
            if (key == HashAlgorithmKey)
            {
                reader.Skip();
                continue;
            }

            var index = ParsePcrKey(key);
            if (reader.TokenType != JsonTokenType.String)
            {
                throw new FormatException($"measurements JSON: {MeasurementsKey}.{key} is not a hex string");
            }

            var value = ParsePcrValue(key, reader.GetString()!);
            if (!pcrs.TryAdd(index, value))
            {
                throw new FormatException($"measurements JSON: duplicate key {MeasurementsKey}.{key}");
            }
        }

        return pcrs.Count > 0 ? pcrs : throw new FormatException($"measurements JSON: '{MeasurementsKey}' holds no PCRn entry");
    }

    private static int ParsePcrKey(string key)
    {
        var digits = key.AsSpan(key.StartsWith(PcrKeyPrefix, StringComparison.Ordinal) ? PcrKeyPrefix.Length : 0);
        if (key.StartsWith(PcrKeyPrefix, StringComparison.Ordinal)
            && int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var index)
            && index < 32
            && digits.Length == (index < 10 ? 1 : 2))
        {
            return index;
        }

        throw new FormatException($"measurements JSON: {MeasurementsKey}.{key} is not a PCR key (PCR0 … PCR31) or {HashAlgorithmKey}");
    }

    private static byte[] ParsePcrValue(string key, string hex)
    {
        byte[] value;
        try
        {
            value = Convert.FromHexString(hex);
        }
        catch (FormatException ex)
        {
            throw new FormatException($"measurements JSON: {MeasurementsKey}.{key} is not hex: {ex.Message}", ex);
        }

        return value.Length is 32 or 48 or 64
            ? value
            : throw new FormatException($"measurements JSON: {MeasurementsKey}.{key} is {value.Length} bytes; a PCR is 32, 48 or 64");
    }
}
