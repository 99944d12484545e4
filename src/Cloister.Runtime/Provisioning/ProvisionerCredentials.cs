using System.Buffers;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using System.Text.Json.Serialization;
using Cloister.Runtime.Files;

namespace Cloister.Runtime.Provisioning;

/// <summary>
/// How an operator or a host reaches a provisioner: its URL, the pin of its TLS key, and a client certificate with
/// its key. One JSON file, mode 0600 (<c>operator.json</c>, <c>host.json</c>; docs/provisioning.md).
/// </summary>
public sealed class ProvisionerCredentials
{
    /// <summary>The largest credentials file read.</summary>
    public const int MaxSize = 64 << 10;

    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private static readonly SearchValues<char> s_lowerHex = SearchValues.Create("0123456789abcdef");

    /// <summary>The provisioner's HTTPS URL.</summary>
    [JsonPropertyName("provisioner")]
    public required Uri Provisioner { get; init; }

    /// <summary>The pin of the provisioner's TLS key (<see cref="ProvisionerPin"/>), 64 lowercase hex digits.</summary>
    [JsonPropertyName("pinned_sha256")]
    public required string PinnedSha256 { get; init; }

    /// <summary>The client's name: the operator's or the host's (the certificate's CN).</summary>
    [JsonPropertyName("name")]
    public required string Name { get; init; }

    /// <summary>The client certificate (PEM), issued by the provisioner's client CA.</summary>
    [JsonPropertyName("certificate")]
    public required string Certificate { get; init; }

    /// <summary>The client certificate's private key (PKCS#8 PEM).</summary>
    [JsonPropertyName("private_key")]
    public required string PrivateKey { get; init; }

    /// <summary>The pin as bytes.</summary>
    [JsonIgnore]
    public byte[] Pin => Convert.FromHexString(PinnedSha256);

    /// <summary>Reads and checks a credentials file.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The credentials.</returns>
    /// <exception cref="FormatException">The file is not a credentials file, or is readable by others than its owner.</exception>
    /// <exception cref="FileTooLargeException">The file is larger than <see cref="MaxSize"/>.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    /// <exception cref="UnauthorizedAccessException">The file may not be read.</exception>
    public static ProvisionerCredentials Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var bytes = BoundedFile.ReadAllBytes(path, MaxSize, "the credentials file");
        if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(path) & ~OwnerOnly & ~UnixFileMode.UserExecute) != 0)
        {
            throw new FormatException($"{path}: credentials must be readable by their owner only (chmod 600)");
        }

        ProvisionerCredentials? credentials;
        try
        {
            credentials = JsonSerializer.Deserialize(bytes, ProvisionerCredentialsJson.Default.ProvisionerCredentials);
        }
        catch (JsonException ex)
        {
            throw new FormatException($"{path}: not a credentials file: {ex.Message}", ex);
        }

        if (credentials is null)
        {
            throw new FormatException($"{path}: not a credentials file");
        }

        credentials.Validate(path);
        return credentials;
    }

    /// <summary>Writes the credentials to a new file, mode 0600 from its creation.</summary>
    /// <param name="path">The file; it must not exist.</param>
    /// <exception cref="IOException">The file exists or cannot be written.</exception>
    public void Write(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = OwnerOnly;
        }

        using var file = new FileStream(path, options);
        JsonSerializer.Serialize(file, this, ProvisionerCredentialsJson.Default.ProvisionerCredentials);
    }

    /// <summary>The client certificate with its key, ready for a TLS handshake.</summary>
    /// <returns>A certificate the caller disposes.</returns>
    /// <exception cref="CryptographicException">The certificate or key cannot be read, or they do not match.</exception>
    public X509Certificate2 ClientCertificate()
    {
        X509Certificate2 pem;
        try
        {
            pem = X509Certificate2.CreateFromPem(Certificate, PrivateKey);
        }
        catch (ArgumentException ex)
        {
            // What .NET throws for a key that is not the certificate's, or PEM without the expected block.
            throw new CryptographicException(ex.Message, ex);
        }

        using (pem)
        {
            // A key imported from PEM is ephemeral; SslStream on Linux needs it exportable as PKCS#12 for client auth.
            return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), password: null);
        }
    }

    private void Validate(string path)
    {
        if (Provisioner.Scheme != Uri.UriSchemeHttps)
        {
            throw new FormatException($"{path}: provisioner: '{Provisioner}' is not an https:// URL");
        }

        if (PinnedSha256.Length != 2 * ProvisionerPin.Size || PinnedSha256.AsSpan().ContainsAnyExcept(s_lowerHex))
        {
            throw new FormatException($"{path}: pinned_sha256: expected 64 lowercase hex digits");
        }

        if (Name.Length == 0)
        {
            throw new FormatException($"{path}: name: cannot be empty");
        }

        try
        {
            using var certificate = ClientCertificate();
        }
        catch (CryptographicException ex)
        {
            throw new FormatException($"{path}: the certificate and private key do not form a client identity: {ex.Message}", ex);
        }
    }
}

/// <summary>Source-generated JSON for <see cref="ProvisionerCredentials"/>.</summary>
[JsonSourceGenerationOptions(WriteIndented = true, UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow, RespectRequiredConstructorParameters = true)]
[JsonSerializable(typeof(ProvisionerCredentials))]
internal sealed partial class ProvisionerCredentialsJson : JsonSerializerContext;
