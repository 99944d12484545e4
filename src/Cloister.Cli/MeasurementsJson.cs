using System.CommandLine;
using Cloister.Build.Eif;
using Cloister.Build.Enclaves;
using Cloister.Build.Json;

namespace Cloister.Cli;

/// <summary>
/// The JSON nitro-cli prints for measurements. Its <c>HashAlgorithm</c> text depends on the nitro-cli release
/// (<c>"Sha384 { ... }"</c> up to 1.4, <c>"Sha512_48 { .. }"</c> from 1.5.0, both for the same SHA-384), so the
/// commands that print it take <see cref="CreateHashAlgorithmOption"/>.
/// </summary>
internal static class MeasurementsJson
{
    /// <summary>The option's value when it is not given: the current nitro-cli release's text.</summary>
    public const string DefaultRelease = "nitro-cli-1.5";

    private static readonly Dictionary<string, string> s_hashAlgorithms = new(StringComparer.Ordinal)
    {
        ["nitro-cli-1.4"] = EifMeasurements.HashAlgorithmNitroCli14,
        [DefaultRelease] = EifMeasurements.HashAlgorithmNitroCli15,
    };

    /// <summary><c>--hash-algorithm-name nitro-cli-1.4|nitro-cli-1.5</c>: which release's <c>HashAlgorithm</c> text to write.</summary>
    public static Option<string> CreateHashAlgorithmOption()
    {
        var option = new Option<string>("--hash-algorithm-name")
        {
            Description = "Write HashAlgorithm as this nitro-cli release prints it: \"Sha384 { ... }\" (1.4) or \"Sha512_48 { .. }\" (1.5). The PCRs are the same.",
            DefaultValueFactory = _ => DefaultRelease,
        };
        option.AcceptOnlyFromAmong([.. s_hashAlgorithms.Keys]);
        return option;
    }

    /// <summary>The <c>HashAlgorithm</c> text for a value of <see cref="CreateHashAlgorithmOption"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="release"/> is not one of the option's values.</exception>
    public static string HashAlgorithmFor(string release) =>
        s_hashAlgorithms.TryGetValue(release, out var text)
            ? text
            : throw new ArgumentOutOfRangeException(nameof(release), release, "not a value of --hash-algorithm-name");

    /// <summary>The <c>HashAlgorithm</c> text the option parsed in <paramref name="parseResult"/> asks for.</summary>
    public static string HashAlgorithm(ParseResult parseResult, Option<string> option) =>
        HashAlgorithmFor(parseResult.GetRequiredValue(option));

    /// <summary><c>{"Measurements": {...}}</c>, as <c>nitro-cli build-enclave</c> prints it.</summary>
    public static string Build(EifMeasurements measurements, string hashAlgorithm) => EnclaveMeasurementsJson.Write(measurements, runtime: null, hashAlgorithm);

    /// <summary><c>{"KEY": "hex"}</c>, as <c>nitro-cli pcr</c> prints it.</summary>
    public static string Single(string key, byte[] pcr)
    {
        var writer = new SerdeJsonWriter(indented: true);
        writer.WriteStartObject();
        writer.WriteProperty(key, Convert.ToHexStringLower(pcr));
        writer.WriteEndObject();
        return writer.ToString();
    }
}
