using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Cloister.Attestation.Verification;
using Cloister.Runtime.Files;

namespace Cloister.Cli;

/// <summary>
/// Attestation values as <c>verify-doc</c> and <c>attest</c> read them from their options (measurements, PEM
/// certificates, hex) and print them (times, PCRs). A file that cannot be read or does not parse is a usage error
/// naming the option.
/// </summary>
internal static class AttestationText
{
    private const string TimeFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'";

    /// <summary>A single-set PCR policy from nitro-cli's measurements JSON.</summary>
    public static PcrPolicy ReadPcrs(FileInfo file) => PcrPolicy.Exactly(ReadMeasurements(file));

    /// <summary>The PCRs of nitro-cli's measurements JSON, by index.</summary>
    public static IReadOnlyDictionary<int, byte[]> ReadMeasurements(FileInfo file, string option = "--pcrs")
    {
        try
        {
            return PcrPolicy.ReadMeasurements(Read(file, option, FileSizeLimits.Json));
        }
        catch (FormatException ex)
        {
            throw CommandFailedException.Usage($"{option} {file.Name}: {ex.Message}");
        }
    }

    /// <summary>Every certificate of a PEM file, at least one.</summary>
    public static X509Certificate2[] ReadCertificates(FileInfo file, string option)
    {
        var collection = new X509Certificate2Collection();
        try
        {
            collection.ImportFromPem(Encoding.UTF8.GetString(Read(file, option, FileSizeLimits.KeyOrCertificate)));
        }
        catch (CryptographicException ex)
        {
            throw CommandFailedException.Usage($"{option} {file.Name}: not a PEM certificate: {ex.Message}");
        }

        return collection.Count > 0 ? [.. collection] : throw CommandFailedException.Usage($"{option} {file.Name}: no certificate in the PEM file");
    }

    /// <summary>
    /// The whole file, at most <paramref name="maxBytes"/> (<see cref="FileSizeLimits"/>). One that cannot be opened or
    /// read is a usage error naming <paramref name="what"/>.
    /// </summary>
    /// <exception cref="CommandFailedException">The file cannot be read (exit 2).</exception>
    /// <exception cref="FileTooLargeException">The file is larger than <paramref name="maxBytes"/> (exit 1, as any invalid input).</exception>
    public static byte[] Read(FileInfo file, string what, int maxBytes)
    {
        try
        {
            return BoundedFile.ReadAllBytes(file.FullName, maxBytes, what);
        }
        catch (Exception ex) when (ex is (IOException and not FileTooLargeException) or UnauthorizedAccessException)
        {
            throw CommandFailedException.Usage($"{what}: cannot read {file.FullName}: {ex.Message}");
        }
    }

    public static byte[] ParseHex(string option, string value)
    {
        try
        {
            return Convert.FromHexString(value);
        }
        catch (FormatException)
        {
            throw CommandFailedException.Usage($"{option}: '{value}' is not hex");
        }
    }

    /// <summary><c>"pcrs": {"0": "hex", …}</c> in index order.</summary>
    public static void WritePcrs(Utf8JsonWriter writer, IReadOnlyDictionary<int, byte[]> pcrs)
    {
        writer.WriteStartObject("pcrs");
        foreach (var (index, value) in pcrs.OrderBy(p => p.Key))
        {
            writer.WriteString(index.ToString(CultureInfo.InvariantCulture), Convert.ToHexStringLower(value));
        }

        writer.WriteEndObject();
    }

    public static string FormatTime(DateTimeOffset time) => time.UtcDateTime.ToString(TimeFormat, CultureInfo.InvariantCulture);
}
