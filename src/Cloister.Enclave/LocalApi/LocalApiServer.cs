using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using Cloister.Attestation.Nsm;
using Cloister.Enclave.Nitro;
using Cloister.Runtime.Nsm;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Cloister.Enclave.LocalApi;

/// <summary>
/// The app's local API on 127.0.0.1 (port 9999 by default): <c>POST /attestation-doc</c> answers the NSM's raw COSE_Sign1
/// document as <c>application/cbor</c>; with the deployment's key ring (<c>api.crypto</c>), <c>POST /encrypt</c> and
/// <c>POST /decrypt</c> (<see cref="CryptoApi"/>). Kestrel from an empty builder (no configuration files, no logging, no
/// routing): three paths need no more, and everything it uses is NativeAOT-clean.
/// </summary>
internal sealed class LocalApiServer : IAsyncDisposable
{
    public const string AttestationDocPath = "/attestation-doc";

    // Three base64 fields of 1024 bytes and their names fit in well under this.
    private const long MaxBodyLength = 16 * 1024;

    private readonly WebApplication _app;

    private LocalApiServer(WebApplication app, int port)
    {
        _app = app;
        Port = port;
    }

    /// <summary>The bound port (useful when 0 asked for any).</summary>
    public int Port { get; }

    /// <exception cref="IOException">The port is taken.</exception>
    public static async Task<LocalApiServer> StartAsync(int port, NsmDevice nsm, LocalApiOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(nsm);
        ArgumentNullException.ThrowIfNull(options);
        var crypto = options.Keys is { } keys ? new CryptoApi(keys, options.MaxCryptoBodyLength, options.MaxConcurrentCryptoRequests) : null;
        // /attestation-doc's bound; the crypto paths raise it for their own requests (CryptoApi).
        var (app, boundPort) = await LoopbackKestrel.StartAsync(port, MaxBodyLength, context => HandleAsync(context, nsm, options.Attestation, crypto), cancellationToken);
        return new LocalApiServer(app, boundPort);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private static async Task HandleAsync(HttpContext context, NsmDevice nsm, bool attestation, CryptoApi? crypto)
    {
        var path = context.Request.Path.Value;
        if (path is not (AttestationDocPath or CryptoApi.EncryptPath or CryptoApi.DecryptPath))
        {
            var served = (attestation ? new[] { AttestationDocPath } : []).Concat(crypto is null ? [] : [CryptoApi.EncryptPath, CryptoApi.DecryptPath]);
            await WriteErrorAsync(context, StatusCodes.Status404NotFound, $"no such endpoint; POST {string.Join(", ", served)}");
            return;
        }

        if (path == AttestationDocPath ? !attestation : crypto is null)
        {
            var setting = path == AttestationDocPath ? "api.attestation: true" : "api.crypto: true";
            await WriteErrorAsync(context, StatusCodes.Status404NotFound, $"{path} is off in this enclave: it needs {setting} in enclave.yaml");
            return;
        }

        if (!HttpMethods.IsPost(context.Request.Method))
        {
            context.Response.Headers.Allow = "POST";
            await WriteErrorAsync(context, StatusCodes.Status405MethodNotAllowed, $"{path} takes POST");
            return;
        }

        if (path != AttestationDocPath)
        {
            await crypto!.HandleAsync(context, encrypt: path == CryptoApi.EncryptPath);
            return;
        }

        await ServeAttestationDocAsync(context, nsm);
    }

    private static async Task ServeAttestationDocAsync(HttpContext context, NsmDevice nsm)
    {
        AttestationDocRequest request;
        try
        {
            var body = await context.Request.BodyReader.ReadAtLeastAsync((int)MaxBodyLength + 1, context.RequestAborted);
            if (body.Buffer.Length > MaxBodyLength)
            {
                await WriteErrorAsync(context, StatusCodes.Status413PayloadTooLarge, $"the body is over {MaxBodyLength} bytes");
                return;
            }

            request = AttestationDocRequest.Parse(body.Buffer.ToArray());
            context.Request.BodyReader.AdvanceTo(body.Buffer.End);
        }
        catch (BadHttpRequestException ex)
        {
            await WriteErrorAsync(context, ex.StatusCode, ex.Message);
            return;
        }
        catch (FormatException ex)
        {
            await WriteErrorAsync(context, StatusCodes.Status400BadRequest, ex.Message);
            return;
        }

        byte[] document;
        try
        {
            document = await NsmAttestation.GetDocumentAsync(nsm, new AttestationRequest(request.UserData, request.Nonce, request.PublicKey), context.RequestAborted);
        }
        catch (IOException ex)
        {
            await WriteErrorAsync(context, StatusCodes.Status500InternalServerError, ex is NsmAttestationException ? ex.Message : $"NSM: {ex.Message}");
            return;
        }

        context.Response.ContentType = "application/cbor";
        context.Response.ContentLength = document.Length;
        await context.Response.Body.WriteAsync(document, context.RequestAborted);
    }

    /// <summary>Answers <c>{"error": message}</c>, with <c>"reason"</c> when given (a ciphertext failure's name).</summary>
    public static async Task WriteErrorAsync(HttpContext context, int status, string message, string? reason = null)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        var buffer = new ArrayBufferWriter<byte>();
        // The answer goes to the app, never into HTML: the relaxed encoder leaves the quotes around a deployment's name
        // readable (the default writes ' as \u0027) and still escapes what JSON requires.
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteString("error", message);
            if (reason is not null)
            {
                json.WriteString("reason", reason);
            }

            json.WriteEndObject();
        }

        await context.Response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted);
    }
}
