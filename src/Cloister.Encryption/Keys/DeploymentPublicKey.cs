using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Cloister.Encryption.Ciphertexts;

namespace Cloister.Encryption.Keys;

/// <summary>
/// The public half of one version of a deployment's keys, with what a ciphertext binds: the deployment's name, its key
/// id and the version. Anyone may hold it and encrypt with it; only the deployment's enclaves can decrypt.
/// </summary>
/// <remarks>
/// Its file (<see cref="ToJson"/>, what <c>cloister keys show --output</c> writes and <c>cloister encrypt --public-key</c>
/// reads) is one JSON object: <c>deployment</c>, <c>key_id</c> (16 hex digits), <c>version</c>, <c>public_key</c> (the
/// base64 DER SubjectPublicKeyInfo) and <c>fingerprint</c> (the SHA-256 of that DER, hex), which must match when given.
/// </remarks>
public sealed class DeploymentPublicKey
{
    /// <summary>The most bytes <see cref="Parse"/> reads.</summary>
    public const int MaxJsonLength = 16 * 1024;

    private readonly byte[] _subjectPublicKeyInfo;
    private readonly byte[] _deploymentBytes;

    /// <summary>Creates a public key.</summary>
    /// <param name="deployment">The deployment's name.</param>
    /// <param name="keyId">Its key id.</param>
    /// <param name="version">The key version.</param>
    /// <param name="subjectPublicKeyInfo">The DER SubjectPublicKeyInfo of the P-384 key.</param>
    /// <exception cref="FormatException">The key is not a P-384 SubjectPublicKeyInfo.</exception>
    /// <exception cref="ArgumentException">The name is empty or over 255 UTF-8 bytes.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="version"/> is below 1.</exception>
    public DeploymentPublicKey(string deployment, DeploymentKeyId keyId, int version, ReadOnlySpan<byte> subjectPublicKeyInfo)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(version, 1);
        _deploymentBytes = CiphertextLayout.DeploymentBytes(deployment);
        using (P384.ImportSubjectPublicKeyInfo(subjectPublicKeyInfo))
        {
            // Checked here so a bad key fails when it is read, not at the first encryption.
        }

        Deployment = deployment;
        KeyId = keyId;
        Version = version;
        _subjectPublicKeyInfo = subjectPublicKeyInfo.ToArray();
        Fingerprint = Convert.ToHexStringLower(SHA256.HashData(_subjectPublicKeyInfo));
    }

    /// <summary>The deployment's name.</summary>
    public string Deployment { get; }

    /// <summary>The deployment's key id.</summary>
    public DeploymentKeyId KeyId { get; }

    /// <summary>The key version.</summary>
    public int Version { get; }

    /// <summary>The SHA-256 of the SubjectPublicKeyInfo, 64 lowercase hex digits.</summary>
    public string Fingerprint { get; }

    /// <summary>A copy of the DER SubjectPublicKeyInfo.</summary>
    public byte[] ExportSubjectPublicKeyInfo() => (byte[])_subjectPublicKeyInfo.Clone();

    /// <summary>The key as PEM (<c>PUBLIC KEY</c>).</summary>
    public string ToPem() => PemEncoding.WriteString("PUBLIC KEY", _subjectPublicKeyInfo);

    /// <summary>An encryptor with a fresh ephemeral P-384 key, shared by the values it encrypts.</summary>
    public LeafEncryptor CreateEncryptor()
    {
        using var recipient = P384.ImportSubjectPublicKeyInfo(_subjectPublicKeyInfo);
        using var sender = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP384);
        var header = new byte[CiphertextLayout.FixedHeaderSize + CiphertextLayout.PointSize];
        Span<byte> point = stackalloc byte[CiphertextLayout.PointSize];
        P384.WritePoint(sender, point);
        CiphertextLayout.WriteHeader(header, CiphertextAlgorithm.PublicKey, PlaintextKind.Bytes, KeyId, Version, point);
        var secret = sender.DeriveRawSecretAgreement(recipient.PublicKey);
        Span<byte> key = stackalloc byte[CiphertextLayout.KeySize];
        KeyDerivation.FromSharedSecret(secret, _subjectPublicKeyInfo, point, KeyId, Version, key);
        CryptographicOperations.ZeroMemory(secret);
        return new LeafEncryptor(key, header, _deploymentBytes);
    }

    /// <summary>The key's file: one JSON object (see the remarks).</summary>
    public byte[] ToJson()
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("deployment", Deployment);
            json.WriteString("key_id", KeyId.ToString());
            json.WriteNumber("version", Version);
            json.WriteBase64String("public_key", _subjectPublicKeyInfo);
            json.WriteString("fingerprint", Fingerprint);
            json.WriteEndObject();
        }

        buffer.Write("\n"u8);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Reads a key's file.</summary>
    /// <param name="json">The file's bytes.</param>
    /// <returns>The key.</returns>
    /// <exception cref="FormatException">It is not the JSON object described in the remarks; the message names the field.</exception>
    public static DeploymentPublicKey Parse(ReadOnlySpan<byte> json)
    {
        if (json.Length > MaxJsonLength)
        {
            throw new FormatException($"a public key file is at most {MaxJsonLength} bytes; this one is {json.Length}");
        }

        string? deployment = null, keyId = null, fingerprint = null;
        int? version = null;
        byte[]? publicKey = null;
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 2 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw new FormatException("a public key file is one JSON object");
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.GetString()!;
                reader.Read();
                switch (name)
                {
                    case "deployment": deployment = reader.GetString(); break;
                    case "key_id": keyId = reader.GetString(); break;
                    case "version":
                        version = reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var number)
                            ? number
                            : throw new FormatException("public key file: 'version' is not a whole number");
                        break;
                    case "public_key":
                        publicKey = reader.TokenType == JsonTokenType.String && reader.TryGetBytesFromBase64(out var der)
                            ? der
                            : throw new FormatException("public key file: 'public_key' is not a base64 string");
                        break;
                    case "fingerprint": fingerprint = reader.GetString(); break;
                    default: throw new FormatException($"public key file: unknown field '{name}'");
                }
            }

            while (reader.Read())
            {
                // The object's end is checked by the reader itself; anything after it is refused.
            }
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            throw new FormatException($"public key file: not the expected JSON ({ex.Message})", ex);
        }

        if (string.IsNullOrEmpty(deployment))
        {
            throw new FormatException("public key file: 'deployment' is missing");
        }

        if (Encoding.UTF8.GetByteCount(deployment) > CiphertextLayout.MaxDeploymentNameBytes)
        {
            throw new FormatException($"public key file: 'deployment' is over {CiphertextLayout.MaxDeploymentNameBytes} UTF-8 bytes");
        }

        var key = new DeploymentPublicKey(
            deployment,
            DeploymentKeyId.Parse(keyId ?? throw new FormatException("public key file: 'key_id' is missing")),
            version is >= 1 ? version.Value : throw new FormatException("public key file: 'version' is missing or below 1"),
            publicKey ?? throw new FormatException("public key file: 'public_key' is missing"));
        if (fingerprint is not null && !string.Equals(fingerprint, key.Fingerprint, StringComparison.OrdinalIgnoreCase))
        {
            throw new FormatException($"public key file: the fingerprint {fingerprint} is not that of its public_key ({key.Fingerprint})");
        }

        return key;
    }
}
