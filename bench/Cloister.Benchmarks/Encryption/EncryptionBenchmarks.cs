using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Cloister.Encryption.Ciphertexts;
using Cloister.Encryption.Json;
using Cloister.Encryption.Keys;

namespace Cloister.Benchmarks.Encryption;

/// <summary>
/// The encryption core of issue 14 in one process, without HTTP: a 1 KB JSON document's 20 string leaves through
/// <see cref="JsonLeafCipher"/>, and a 1 MiB body through <see cref="LeafEncryptor"/> / <see cref="LeafDecryptor"/>,
/// each beside raw <see cref="AesGcm"/> on the same bytes (one key made once, a random nonce per message). An operation
/// includes making its encryptor or decryptor, as each request does (one HKDF, one AES key schedule).
/// </summary>
[MemoryDiagnoser]
[CategoriesColumn]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
public class EncryptionBenchmarks : IDisposable
{
    private const string Json = "1 KB JSON";
    private const string Body = "1 MiB body";

    private readonly ArrayBufferWriter<byte> _output = new(4096);
    private readonly byte[] _nonce = new byte[12];
    private readonly byte[] _freshNonce = new byte[12];
    private readonly byte[] _freshTag = new byte[16];
    private readonly byte[] _documentTag = new byte[16];
    private readonly byte[] _bodyTag = new byte[16];
    private DeploymentKeyRing _ring = null!;
    private AesGcm _aes = null!;
    private byte[] _document = null!;
    private byte[] _dataKeyDocument = null!;
    private byte[] _publicKeyDocument = null!;
    private byte[] _rawDocumentCiphertext = null!;
    private byte[] _body = null!;
    private byte[] _bodyCiphertext = null!;
    private byte[] _rawBodyCiphertext = null!;
    private byte[] _destination = null!;

    /// <summary>The document, the same on every run (its size is printed by the setup).</summary>
    public static byte[] Document()
    {
        // Five records of four string fields, with a number and a boolean each: 20 string leaves, about 1 KB.
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("customers");
            for (var i = 0; i < 5; i++)
            {
                writer.WriteStartObject();
                writer.WriteString("name", $"Customer Number {i} Of The Benchmark");
                writer.WriteString("email", $"customer.{i}@payments.example.com");
                writer.WriteString("card", $"4111 1111 1111 {1000 + i}");
                writer.WriteString("address", $"{i + 10} Long Street Name, Some City, 1000{i}, Country");
                writer.WriteNumber("balance", 1234.5 + i);
                writer.WriteBoolean("active", i % 2 == 0);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    [GlobalSetup]
    public void Setup()
    {
        _ring = new DeploymentKeyRing("bench", DeploymentKeyId.New(), [DeploymentKey.Generate(1)], 1);
        _aes = new AesGcm(RandomNumberGenerator.GetBytes(32), 16);
        _document = Document();
        Console.WriteLine($"// the JSON document is {_document.Length} bytes");
        using (var encryptor = _ring.CreateEncryptor())
        {
            _dataKeyDocument = EncryptDocument(encryptor);
        }

        using (var encryptor = _ring.CurrentPublicKey.CreateEncryptor())
        {
            _publicKeyDocument = EncryptDocument(encryptor);
        }

        _rawDocumentCiphertext = new byte[_document.Length];
        _aes.Encrypt(_nonce, _document, _rawDocumentCiphertext, _documentTag);
        _body = new byte[1 << 20];
        new Random(14).NextBytes(_body);
        using (var encryptor = _ring.CreateEncryptor())
        {
            _bodyCiphertext = encryptor.Encrypt(_body, PlaintextKind.Bytes);
        }

        _rawBodyCiphertext = new byte[_body.Length];
        _aes.Encrypt(_nonce, _body, _rawBodyCiphertext, _bodyTag);
        _destination = new byte[_bodyCiphertext.Length];

        // The public-key document's ECDH is cached by the ring after its first decryption, as a server's would be.
        DecryptDocument(_publicKeyDocument);
        if (!Encoding.UTF8.GetString(_output.WrittenSpan).Equals(Encoding.UTF8.GetString(_document), StringComparison.Ordinal))
        {
            throw new InvalidOperationException("the document does not round-trip");
        }
    }

    [Benchmark(Baseline = true, Description = "raw AesGcm encrypt")]
    [BenchmarkCategory(Json)]
    public int RawEncryptDocument() => RawEncrypt(_document, _rawDocumentCiphertext);

    [Benchmark(Description = "JsonLeafCipher.Encrypt (data key)")]
    [BenchmarkCategory(Json)]
    public int JsonEncrypt()
    {
        _output.ResetWrittenCount();
        using var encryptor = _ring.CreateEncryptor();
        JsonLeafCipher.Encrypt(_document, encryptor, LeafSelection.Strings, _output);
        return _output.WrittenCount;
    }

    [Benchmark(Description = "raw AesGcm decrypt")]
    [BenchmarkCategory(Json)]
    public int RawDecryptDocument() => RawDecrypt(_rawDocumentCiphertext, _documentTag);

    [Benchmark(Description = "JsonLeafCipher.Decrypt (data key)")]
    [BenchmarkCategory(Json)]
    public int JsonDecrypt() => DecryptDocument(_dataKeyDocument);

    [Benchmark(Description = "JsonLeafCipher.Decrypt (public key, ECDH cached)")]
    [BenchmarkCategory(Json)]
    public int JsonDecryptPublicKey() => DecryptDocument(_publicKeyDocument);

    [Benchmark(Baseline = true, Description = "raw AesGcm encrypt")]
    [BenchmarkCategory(Body)]
    public int RawEncryptBody() => RawEncrypt(_body, _rawBodyCiphertext);

    [Benchmark(Description = "LeafEncryptor.Encrypt")]
    [BenchmarkCategory(Body)]
    public int EncryptBody()
    {
        using var encryptor = _ring.CreateEncryptor();
        return encryptor.Encrypt(_body, PlaintextKind.Bytes, _destination);
    }

    [Benchmark(Description = "raw AesGcm decrypt")]
    [BenchmarkCategory(Body)]
    public int RawDecryptBody() => RawDecrypt(_rawBodyCiphertext, _bodyTag);

    [Benchmark(Description = "LeafDecryptor.Decrypt")]
    [BenchmarkCategory(Body)]
    public int DecryptBody()
    {
        using var decryptor = _ring.CreateDecryptor();
        return decryptor.Decrypt(_bodyCiphertext, _destination, out _);
    }

    public void Dispose()
    {
        _ring?.Dispose();
        _aes?.Dispose();
        GC.SuppressFinalize(this);
    }

    private int RawEncrypt(byte[] plaintext, byte[] ciphertext)
    {
        RandomNumberGenerator.Fill(_freshNonce);
        _aes.Encrypt(_freshNonce, plaintext, ciphertext, _freshTag);
        return ciphertext.Length;
    }

    // Decrypts what the setup encrypted, under the setup's nonce and tag (the encrypt benchmarks use their own).
    private int RawDecrypt(byte[] ciphertext, byte[] tag)
    {
        _aes.Decrypt(_nonce, ciphertext, tag, _destination.AsSpan(0, ciphertext.Length));
        return ciphertext.Length;
    }

    private int DecryptDocument(byte[] document)
    {
        _output.ResetWrittenCount();
        using var decryptor = _ring.CreateDecryptor();
        JsonLeafCipher.Decrypt(document, decryptor, _output);
        return _output.WrittenCount;
    }

    private byte[] EncryptDocument(LeafEncryptor encryptor)
    {
        _output.ResetWrittenCount();
        JsonLeafCipher.Encrypt(_document, encryptor, LeafSelection.Strings, _output);
        return _output.WrittenSpan.ToArray();
    }
}
