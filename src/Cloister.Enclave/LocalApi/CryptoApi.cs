using System.Buffers;
using Cloister.Encryption.Ciphertexts;
using Cloister.Encryption.Json;
using Cloister.Encryption.Keys;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Net.Http.Headers;

namespace Cloister.Enclave.LocalApi;

/// <summary>
/// <c>POST /encrypt</c> and <c>POST /decrypt</c> with the deployment's key ring (docs/encryption.md, "The crypto API
/// inside the enclave"). A body is read whole into a pooled buffer, transformed into another, and written with its
/// length: a failure anywhere in a document still changes the status, because nothing was sent before it.
/// </summary>
internal sealed class CryptoApi
{
    public const string EncryptPath = "/encrypt";
    public const string DecryptPath = "/decrypt";

    /// <summary>Cages' header choosing a data role for <c>/encrypt</c>; Cloister ciphertexts have no roles.</summary>
    public const string DataRoleHeader = "x-evervault-data-role";

    private const string Json = "application/json";
    private const string OctetStream = "application/octet-stream";

    // A string leaf of n bytes grows to about 4/3 (n + 59) + 3; most documents fit twice their size plus this.
    private const int JsonGrowth = 1024;

    // A JSON answer may be this many times the body limit: an array of empty strings grows about 28 times when
    // encrypted, and control characters 6 times when decrypted and escaped, which no bound on the body alone limits.
    private const int MaxJsonGrowthFactor = 4;

    private readonly DeploymentKeyRing _keys;
    private readonly int _maxBodyLength;
    private readonly int _maxConcurrent;
    private int _inFlight;

    public CryptoApi(DeploymentKeyRing keys, int maxBodyLength, int maxConcurrent)
    {
        _keys = keys;
        _maxBodyLength = maxBodyLength;
        _maxConcurrent = maxConcurrent;
    }

    public async Task HandleAsync(HttpContext context, bool encrypt)
    {
        // Counted before the body is read: the bound is on buffered bodies as much as on CPU.
        if (Interlocked.Increment(ref _inFlight) > _maxConcurrent)
        {
            Interlocked.Decrement(ref _inFlight);
            context.Response.Headers.RetryAfter = "1";
            await LocalApiServer.WriteErrorAsync(context, StatusCodes.Status503ServiceUnavailable, $"{_maxConcurrent} crypto requests are in progress, the most this enclave serves at once; retry");
            return;
        }

        try
        {
            await ServeAsync(context, encrypt);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    private async Task ServeAsync(HttpContext context, bool encrypt)
    {
        var path = encrypt ? EncryptPath : DecryptPath;
        if (context.Request.Headers.ContainsKey(DataRoleHeader))
        {
            await LocalApiServer.WriteErrorAsync(context, StatusCodes.Status400BadRequest, $"{DataRoleHeader} (Cages' data roles) is not supported: Cloister ciphertexts have no role; remove the header");
            return;
        }

        if (!TryReadContentType(context.Request.ContentType, out var bytes))
        {
            await LocalApiServer.WriteErrorAsync(context, StatusCodes.Status415UnsupportedMediaType, $"{path} takes Content-Type {Json} (or none) or {OctetStream}, not '{context.Request.ContentType}'");
            return;
        }

        if (ReadQuery(context.Request, encrypt && !bytes, path, out var leaves) is { } queryError)
        {
            await LocalApiServer.WriteErrorAsync(context, StatusCodes.Status400BadRequest, queryError);
            return;
        }

        if (context.Request.ContentLength > _maxBodyLength)
        {
            await LocalApiServer.WriteErrorAsync(context, StatusCodes.Status413PayloadTooLarge, $"the body is {context.Request.ContentLength} bytes; {path} takes at most {_maxBodyLength}");
            return;
        }

        RentedBody? body = null;
        try
        {
            body = await ReadBodyAsync(context, path);
            if (bytes)
            {
                await WriteBytesAsync(context, body.Span, encrypt);
            }
            else
            {
                await WriteJsonAsync(context, body.Span, encrypt, leaves, path);
            }
        }
        catch (BadHttpRequestException ex)
        {
            // Kestrel's own 413 (a chunked body past the bound) speaks of its settings; ours are the same words everywhere.
            var message = ex.StatusCode == StatusCodes.Status413PayloadTooLarge && body is null ? $"the body is over {_maxBodyLength} bytes, the most {path} takes" : ex.Message;
            await LocalApiServer.WriteErrorAsync(context, ex.StatusCode, message);
        }
        catch (CiphertextException ex)
        {
            var (status, reason) = Describe(ex.Failure);
            await LocalApiServer.WriteErrorAsync(context, status, ex.Message, reason);
        }
        finally
        {
            body?.Dispose();
        }
    }

    private Task WriteJsonAsync(HttpContext context, ReadOnlySpan<byte> json, bool encrypt, LeafSelection leaves, string path)
    {
        var maxLength = (int)Math.Min(Array.MaxLength, (long)MaxJsonGrowthFactor * _maxBodyLength);
        var output = new PooledBufferWriter(
            encrypt ? (2 * json.Length) + JsonGrowth : json.Length,
            maxLength,
            () => new BadHttpRequestException($"the answer of {path} would be over {maxLength} bytes ({MaxJsonGrowthFactor} times the body limit); send the document in parts", StatusCodes.Status413PayloadTooLarge));
        try
        {
            if (encrypt)
            {
                using var encryptor = _keys.CreateEncryptor();
                JsonLeafCipher.Encrypt(json, encryptor, leaves, output);
            }
            else
            {
                using var decryptor = _keys.CreateDecryptor();
                JsonLeafCipher.Decrypt(json, decryptor, output);
            }
        }
        catch
        {
            output.Dispose();
            throw;
        }

        return WriteAsync(context, Json, output.WrittenMemory, output.Dispose);
    }

    private Task WriteBytesAsync(HttpContext context, ReadOnlySpan<byte> input, bool encrypt)
    {
        if (encrypt)
        {
            // Encrypting bytes cannot fail, so the ciphertext is made in the response's own buffer, not copied into it.
            using var encryptor = _keys.CreateEncryptor();
            var ciphertextLength = encryptor.GetCiphertextLength(input.Length);
            context.Response.ContentType = OctetStream;
            context.Response.ContentLength = ciphertextLength;
            var writer = context.Response.BodyWriter;
            writer.Advance(encryptor.Encrypt(input, PlaintextKind.Bytes, writer.GetSpan(ciphertextLength)));
            return writer.FlushAsync(context.RequestAborted).AsTask();
        }

        // Decryption can still fail (a changed bit, another deployment), and the status must say so: the plaintext
        // waits in a buffer of ours until it is known good.
        using var decryptor = _keys.CreateDecryptor();
        var output = ArrayPool<byte>.Shared.Rent(LeafDecryptor.GetMaxPlaintextLength(input.Length));
        int length;
        PlaintextKind kind;
        try
        {
            length = decryptor.Decrypt(input, output, out kind);
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(output);
            throw;
        }

        if (kind != PlaintextKind.Bytes)
        {
            Erase(output, length);
            throw new CiphertextException(CiphertextFailure.WrongForm, $"the body is a JSON {kind.ToString().ToLowerInvariant()} leaf's ciphertext, not a whole body's; decrypt it inside a JSON document");
        }

        return WriteAsync(context, OctetStream, output.AsMemory(0, length), () => Erase(output, length));
    }

    private static async Task WriteAsync(HttpContext context, string contentType, ReadOnlyMemory<byte> body, Action release)
    {
        try
        {
            context.Response.ContentType = contentType;
            context.Response.ContentLength = body.Length;
            await context.Response.BodyWriter.WriteAsync(body, context.RequestAborted);
        }
        finally
        {
            release();
        }
    }

    private async Task<RentedBody> ReadBodyAsync(HttpContext context, string path)
    {
        // Kestrel enforces it too (a chunked body has no length to check up front).
        context.Features.GetRequiredFeature<IHttpMaxRequestBodySizeFeature>().MaxRequestBodySize = _maxBodyLength;
        var body = new RentedBody(ArrayPool<byte>.Shared.Rent((int)(context.Request.ContentLength ?? 4096)));
        try
        {
            var reader = context.Request.BodyReader;
            while (true)
            {
                var read = await reader.ReadAsync(context.RequestAborted);
                body.Append(read.Buffer, _maxBodyLength, path);
                reader.AdvanceTo(read.Buffer.End);
                if (read.IsCompleted)
                {
                    return body;
                }
            }
        }
        catch
        {
            body.Dispose();
            throw;
        }
    }

    private static bool TryReadContentType(string? contentType, out bool bytes)
    {
        bytes = false;
        if (string.IsNullOrEmpty(contentType))
        {
            return true;
        }

        if (!MediaTypeHeaderValue.TryParse(contentType, out var media))
        {
            return false;
        }

        if (media.MediaType.Equals(OctetStream, StringComparison.OrdinalIgnoreCase))
        {
            bytes = true;
            return true;
        }

        // JSON is UTF-8 (RFC 8259); a body declared in another charset would be misread.
        return media.MediaType.Equals(Json, StringComparison.OrdinalIgnoreCase)
            && (!media.Charset.HasValue || media.Charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase));
    }

    // Null, or why the query is refused: only /encrypt of JSON has an option, and unknown options are not ignored.
    private static string? ReadQuery(HttpRequest request, bool takesLeaves, string path, out LeafSelection leaves)
    {
        leaves = LeafSelection.Strings;
        if (!request.QueryString.HasValue)
        {
            return null;
        }

        foreach (var (name, values) in request.Query)
        {
            if (name != "leaves")
            {
                return $"unknown query parameter '{name}'; {EncryptPath} of JSON takes leaves=strings|all, and nothing else takes any";
            }

            if (!takesLeaves)
            {
                return $"leaves applies to {EncryptPath} of a JSON body, not to {path} of {(path == DecryptPath ? "any body: it decrypts every ciphertext string" : "a whole body")}";
            }

            switch (values.Count == 1 ? values[0] : null)
            {
                case "strings": leaves = LeafSelection.Strings; break;
                case "all": leaves = LeafSelection.All; break;
                default: return $"leaves={values}: give leaves=strings (the default) or leaves=all, once";
            }
        }

        return null;
    }

    private static (int Status, string Reason) Describe(CiphertextFailure failure) => failure switch
    {
        // The request itself is wrong: not JSON, not a ciphertext, or not one this format version knows.
        CiphertextFailure.InvalidJson => (StatusCodes.Status400BadRequest, "invalid_json"),
        CiphertextFailure.Malformed => (StatusCodes.Status400BadRequest, "malformed"),
        CiphertextFailure.WrongForm => (StatusCodes.Status400BadRequest, "wrong_form"),
        CiphertextFailure.UnsupportedVersion => (StatusCodes.Status400BadRequest, "unsupported_version"),
        CiphertextFailure.UnsupportedAlgorithm => (StatusCodes.Status400BadRequest, "unsupported_algorithm"),
        CiphertextFailure.UnsupportedKind => (StatusCodes.Status400BadRequest, "unsupported_kind"),

        // A well-formed ciphertext this enclave may not or cannot open.
        CiphertextFailure.OtherDeployment => (StatusCodes.Status422UnprocessableEntity, "other_deployment"),
        CiphertextFailure.UnknownKeyVersion => (StatusCodes.Status422UnprocessableEntity, "unknown_key_version"),
        CiphertextFailure.Tampered => (StatusCodes.Status422UnprocessableEntity, "tampered"),
        _ => throw new ArgumentOutOfRangeException(nameof(failure), failure, "a failure this API does not know"),
    };

    private static void Erase(byte[] buffer, int length)
    {
        buffer.AsSpan(0, length).Clear();
        ArrayPool<byte>.Shared.Return(buffer);
    }

    // A request body in a rented array, grown as it arrives; erased when returned (it may be plaintext).
    private sealed class RentedBody(byte[] buffer) : IDisposable
    {
        private byte[] _buffer = buffer;
        private int _length;

        public ReadOnlySpan<byte> Span => _buffer.AsSpan(0, _length);

        /// <exception cref="BadHttpRequestException">The body grows past <paramref name="maxLength"/> (413).</exception>
        public void Append(ReadOnlySequence<byte> data, int maxLength, string path)
        {
            if (data.Length > maxLength - _length)
            {
                throw new BadHttpRequestException($"the body is over {maxLength} bytes, the most {path} takes", StatusCodes.Status413PayloadTooLarge);
            }

            var length = _length + (int)data.Length;
            if (length > _buffer.Length)
            {
                var larger = ArrayPool<byte>.Shared.Rent(Math.Max(length, (int)Math.Min(maxLength, 2L * _buffer.Length)));
                Span.CopyTo(larger);
                Erase(_buffer, _length);
                _buffer = larger;
            }

            data.CopyTo(_buffer.AsSpan(_length));
            _length = length;
        }

        public void Dispose()
        {
            Erase(_buffer, _length);
            _buffer = [];
            _length = 0;
        }
    }
}
