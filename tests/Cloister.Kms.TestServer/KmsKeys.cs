using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Cloister.Kms.TestServer;

/// <summary>What a test key is: the two key specs the Recipient operations need.</summary>
public enum KmsTestKeySpec
{
    /// <summary><c>SYMMETRIC_DEFAULT</c>, key usage <c>ENCRYPT_DECRYPT</c>: Encrypt, Decrypt, GenerateDataKey, GenerateDataKeyPair.</summary>
    SymmetricDefault,

    /// <summary><c>ECC_NIST_P256</c>, key usage <c>KEY_AGREEMENT</c>: DeriveSharedSecret, GetPublicKey.</summary>
    EccNistP256KeyAgreement,
}

/// <summary>A key the test KMS creates at start.</summary>
/// <param name="KeyId">The key id (a UUID), the last part of its ARN.</param>
/// <param name="Spec">The key spec and usage.</param>
/// <param name="Alias">An alias name (<c>alias/…</c>), or <see langword="null"/>.</param>
public sealed record KmsTestKey(string KeyId, KmsTestKeySpec Spec, string? Alias = null);

internal sealed class KmsKey : IDisposable
{
    private readonly Lock _agreementLock = new();
    private readonly ECDiffieHellman? _agreement;

    public KmsKey(KmsTestKey definition, string arn)
    {
        Definition = definition;
        Arn = arn;
        if (definition.Spec == KmsTestKeySpec.SymmetricDefault)
        {
            Secret = RandomNumberGenerator.GetBytes(32);
        }
        else
        {
            _agreement = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
            PublicKey = _agreement.ExportSubjectPublicKeyInfo();
        }
    }

    public KmsTestKey Definition { get; }

    public string Arn { get; }

    public byte[]? Secret { get; }

    /// <summary>The key agreement key's SubjectPublicKeyInfo; <see langword="null"/> for a symmetric key.</summary>
    public byte[]? PublicKey { get; }

    /// <summary>The raw ECDH secret with <paramref name="peer"/>; serialized because one key object serves every request.</summary>
    public byte[] DeriveSharedSecret(ECDiffieHellmanPublicKey peer)
    {
        lock (_agreementLock)
        {
            return _agreement!.DeriveRawSecretAgreement(peer);
        }
    }

    public void Dispose() => _agreement?.Dispose();
}

/// <summary>
/// The keys and their aliases, and the ciphertext blob: version byte 1, the key's 16-byte UUID, a 12-byte nonce, the
/// AES-256-GCM ciphertext and 16-byte tag. The AAD is the first 17 bytes and the encryption context (sorted by key,
/// each key and value length-prefixed), so a blob decrypts only with the context it was made with, as KMS documents.
/// </summary>
internal sealed class KmsKeyStore : IDisposable
{
    private const byte BlobVersion = 1;
    private const int HeaderLength = 1 + 16;
    private const int NonceLength = 12;
    private const int TagLength = 16;

    private readonly Dictionary<string, KmsKey> _byId = new(StringComparer.Ordinal);
    private readonly Dictionary<string, KmsKey> _byAlias = new(StringComparer.Ordinal);
    private readonly List<KmsKey> _keys = [];
    private readonly string _region;
    private readonly string _account;

    /// <summary>Makes the keys; every definition is checked before any key is made, so a bad one leaves nothing to dispose.</summary>
    public KmsKeyStore(string region, string account, IReadOnlyList<KmsTestKey> definitions)
    {
        _region = region;
        _account = account;
        var ids = new HashSet<string>(StringComparer.Ordinal);
        var aliases = new HashSet<string>(StringComparer.Ordinal);
        foreach (var definition in definitions)
        {
            if (!Guid.TryParseExact(definition.KeyId, "D", out _) || definition.KeyId.Any(char.IsAsciiLetterUpper))
            {
                throw new ArgumentException($"key id '{definition.KeyId}' is not a lowercase UUID", nameof(definitions));
            }

            if (!ids.Add(definition.KeyId))
            {
                throw new ArgumentException($"key id '{definition.KeyId}' is given twice", nameof(definitions));
            }

            if (definition.Alias is { } alias &&
                (!alias.StartsWith("alias/", StringComparison.Ordinal) || alias.StartsWith("alias/aws/", StringComparison.Ordinal) || !aliases.Add(alias)))
            {
                throw new ArgumentException($"alias '{alias}' is given twice, or does not begin with 'alias/', or begins with 'alias/aws/'", nameof(definitions));
            }
        }

        foreach (var definition in definitions)
        {
            var key = new KmsKey(definition, $"arn:aws:kms:{region}:{account}:key/{definition.KeyId}");
            _keys.Add(key);
            _byId.Add(definition.KeyId, key);
            if (definition.Alias is { } alias)
            {
                _byAlias.Add(alias, key);
            }
        }
    }

    /// <summary>The keys in the order they were defined.</summary>
    public IReadOnlyList<KmsKey> Keys => _keys;

    /// <summary>
    /// Resolves the four KeyId forms the API Reference lists: key id, key ARN, alias name, alias ARN. An unknown key is
    /// NotFoundException, as KMS answers.
    /// </summary>
    public KmsKey Resolve(string keyId)
    {
        var prefix = $"arn:aws:kms:{_region}:{_account}:";
        var local = keyId.StartsWith(prefix, StringComparison.Ordinal) ? keyId[prefix.Length..] : keyId;
        if (local.StartsWith("key/", StringComparison.Ordinal) && keyId != local && _byId.TryGetValue(local[4..], out var byArn))
        {
            return byArn;
        }

        if (local.StartsWith("alias/", StringComparison.Ordinal))
        {
            return _byAlias.TryGetValue(local, out var byAlias)
                ? byAlias
                : throw KmsErrorException.NotFound($"Alias {prefix}{local} is not found.");
        }

        if (keyId == local && _byId.TryGetValue(local, out var byId))
        {
            return byId;
        }

        throw KmsErrorException.NotFound($"Key '{keyId}' does not exist");
    }

    public static byte[] Encrypt(KmsKey key, ReadOnlySpan<byte> plaintext, IReadOnlyDictionary<string, string>? context)
    {
        var blob = new byte[HeaderLength + NonceLength + plaintext.Length + TagLength];
        blob[0] = BlobVersion;
        Guid.ParseExact(key.Definition.KeyId, "D").TryWriteBytes(blob.AsSpan(1, 16), bigEndian: true, out _);
        RandomNumberGenerator.Fill(blob.AsSpan(HeaderLength, NonceLength));
        using var aes = new AesGcm(key.Secret!, TagLength);
        aes.Encrypt(
            blob.AsSpan(HeaderLength, NonceLength),
            plaintext,
            blob.AsSpan(HeaderLength + NonceLength, plaintext.Length),
            blob.AsSpan(blob.Length - TagLength),
            Aad(blob.AsSpan(0, HeaderLength), context));
        return blob;
    }

    /// <summary>Finds the blob's key and decrypts; anything that does not authenticate is InvalidCiphertextException.</summary>
    public (KmsKey Key, byte[] Plaintext) Decrypt(ReadOnlySpan<byte> blob, IReadOnlyDictionary<string, string>? context)
    {
        if (blob.Length < HeaderLength + NonceLength + TagLength || blob[0] != BlobVersion)
        {
            throw KmsErrorException.InvalidCiphertext("The ciphertext is not a ciphertext this KMS made.");
        }

        var keyId = new Guid(blob.Slice(1, 16), bigEndian: true).ToString("D");
        if (!_byId.TryGetValue(keyId, out var key) || key.Secret is null)
        {
            throw KmsErrorException.InvalidCiphertext("The ciphertext refers to a key that does not exist.");
        }

        var plaintext = new byte[blob.Length - HeaderLength - NonceLength - TagLength];
        using var aes = new AesGcm(key.Secret, TagLength);
        try
        {
            aes.Decrypt(blob.Slice(HeaderLength, NonceLength), blob.Slice(HeaderLength + NonceLength, plaintext.Length),
                blob[^TagLength..], plaintext, Aad(blob[..HeaderLength], context));
        }
        catch (AuthenticationTagMismatchException)
        {
            throw KmsErrorException.InvalidCiphertext("The ciphertext does not authenticate under its key with this encryption context.");
        }

        return (key, plaintext);
    }

    public void Dispose()
    {
        foreach (var key in _keys)
        {
            key.Dispose();
        }
    }

    private static byte[] Aad(ReadOnlySpan<byte> header, IReadOnlyDictionary<string, string>? context)
    {
        using var stream = new MemoryStream();
        stream.Write(header);
        Span<byte> length = stackalloc byte[4];
        foreach (var (name, value) in (context ?? new Dictionary<string, string>()).OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            foreach (var text in (ReadOnlySpan<string>)[name, value])
            {
                var bytes = Encoding.UTF8.GetBytes(text);
                BinaryPrimitives.WriteInt32BigEndian(length, bytes.Length);
                stream.Write(length);
                stream.Write(bytes);
            }
        }

        return stream.ToArray();
    }
}
