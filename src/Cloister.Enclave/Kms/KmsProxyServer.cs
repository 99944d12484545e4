using System.Buffers;
using System.Security.Cryptography;
using Cloister.Attestation.Nsm;
using Cloister.Enclave.LocalApi;
using Cloister.Enclave.Nitro;
using Cloister.Kms.Proxy;
using Cloister.Kms.Upstream;
using Cloister.Runtime.Manifest;
using Cloister.Runtime.Nsm;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Cloister.Enclave.Kms;

/// <summary>Bounds of the KMS proxy's HTTP server and its recipient key reuse.</summary>
internal sealed class KmsProxyServerOptions
{
    /// <summary>Calls served at once; more are answered 503 ThrottlingException, which every SDK retries.</summary>
    public int MaxConcurrentRequests { get; init; } = 4 * Environment.ProcessorCount;

    /// <summary>The recipient key's reuse (docs/kms.md, "Recipient key reuse").</summary>
    public KmsProxyOptions Proxy { get; init; } = new();
}

/// <summary>
/// The KMS proxy inside the enclave (docs/kms.md): <c>POST /</c> on 127.0.0.1:<c>kms_proxy.port</c>, the endpoint an
/// unchanged AWS SDK is pointed at, answered by <see cref="KmsProxy"/>. Kestrel from an empty builder, like the local
/// API: one path needs no routing, and everything it uses is NativeAOT-clean. Errors of its own have KMS's JSON shape.
/// </summary>
internal sealed class KmsProxyServer : IAsyncDisposable
{
    /// <summary>The largest body read; KMS's own largest requests (64 KiB of Plaintext or ciphertext, base64) fit well under it.</summary>
    public const int MaxBodyLength = 1024 * 1024;

    private readonly WebApplication _app;
    private readonly KmsProxy _proxy;

    private KmsProxyServer(WebApplication app, KmsProxy proxy, int port)
    {
        _app = app;
        _proxy = proxy;
        Port = port;
    }

    /// <summary>The bound port (useful when 0 asked for any).</summary>
    public int Port { get; }

    /// <summary>An attester for <see cref="StartAsync(KmsProxySettings, Func{ReadOnlyMemory{byte}, CancellationToken, Task{byte[]}}, IKmsUpstream, CancellationToken)"/>: the NSM's document with the key as <c>public_key</c> (no nonce, no user_data, as Enclaver).</summary>
    /// <remarks>The function throws <see cref="IOException"/> (<see cref="NsmAttestationException"/>) when the NSM gives no document.</remarks>
    public static Func<ReadOnlyMemory<byte>, CancellationToken, Task<byte[]>> Attester(NsmDevice nsm)
    {
        ArgumentNullException.ThrowIfNull(nsm);
        return (subjectPublicKeyInfo, cancellationToken) =>
            NsmAttestation.GetDocumentAsync(nsm, new AttestationRequest(publicKey: subjectPublicKeyInfo.ToArray()), cancellationToken);
    }

    /// <summary>Starts the proxy on 127.0.0.1:<see cref="KmsProxySettings.Port"/> with the default bounds.</summary>
    /// <param name="settings">The manifest's <c>kms_proxy</c>.</param>
    /// <param name="attest">The NSM document for a recipient key's SubjectPublicKeyInfo (<see cref="Attester"/>).</param>
    /// <param name="upstream">Sends the calls to KMS.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <exception cref="IOException">The port is taken.</exception>
    public static Task<KmsProxyServer> StartAsync(
        KmsProxySettings settings, Func<ReadOnlyMemory<byte>, CancellationToken, Task<byte[]>> attest, IKmsUpstream upstream, CancellationToken cancellationToken = default) =>
        StartAsync(settings, attest, upstream, new KmsProxyServerOptions(), cancellationToken);

    /// <inheritdoc cref="StartAsync(KmsProxySettings, Func{ReadOnlyMemory{byte}, CancellationToken, Task{byte[]}}, IKmsUpstream, CancellationToken)"/>
    /// <param name="options">The bounds.</param>
    public static async Task<KmsProxyServer> StartAsync(
        KmsProxySettings settings,
        Func<ReadOnlyMemory<byte>, CancellationToken, Task<byte[]>> attest,
        IKmsUpstream upstream,
        KmsProxyServerOptions options,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(options);
        var proxy = new KmsProxy(new KmsProxyPolicy(settings.Region, settings.Allow, settings.Keys), attest, upstream, options.Proxy);
        try
        {
            var gate = new Gate(options.MaxConcurrentRequests);
            var (app, port) = await LoopbackKestrel.StartAsync(settings.Port, MaxBodyLength, context => HandleAsync(context, proxy, gate), cancellationToken);
            return new KmsProxyServer(app, proxy, port);
        }
        catch
        {
            proxy.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _proxy.Dispose();
    }

    private static async Task HandleAsync(HttpContext context, KmsProxy proxy, Gate gate)
    {
        if (context.Request.Path.Value != "/")
        {
            await WriteAsync(context, KmsProxyAnswer.Error(KmsProxyFailure.NotFound, $"no such path '{context.Request.Path}'; the KMS proxy serves POST /"));
            return;
        }

        if (!HttpMethods.IsPost(context.Request.Method))
        {
            context.Response.Headers.Allow = "POST";
            await WriteAsync(context, KmsProxyAnswer.Error(KmsProxyFailure.MethodNotAllowed, $"the KMS proxy takes POST, not {context.Request.Method}"));
            return;
        }

        // Counted before the body is read: the bound is on buffered bodies as much as on calls to KMS.
        if (!gate.TryEnter())
        {
            context.Response.Headers.RetryAfter = "1";
            await WriteAsync(context, KmsProxyAnswer.Error(KmsProxyFailure.Busy, $"{gate.Limit} calls are in progress, the most the proxy serves at once; retry"));
            return;
        }

        byte[]? body = null;
        try
        {
            body = await ReadBodyAsync(context);
            var answer = body is null
                ? KmsProxyAnswer.Error(KmsProxyFailure.BodyTooLarge, $"the body is over {MaxBodyLength} bytes, the most the proxy reads")
                : await proxy.HandleAsync(context.Request.Headers["X-Amz-Target"].FirstOrDefault(), body, context.RequestAborted);
            await WriteAsync(context, answer);
        }
        catch (BadHttpRequestException ex)
        {
            var failure = ex.StatusCode == StatusCodes.Status413PayloadTooLarge ? KmsProxyFailure.BodyTooLarge : KmsProxyFailure.NotKmsRequest;
            var reason = failure == KmsProxyFailure.BodyTooLarge ? $"the body is over {MaxBodyLength} bytes, the most the proxy reads" : ex.Message;
            await WriteAsync(context, KmsProxyAnswer.Error(failure, reason));
        }
        finally
        {
            // The app's body may hold plaintext (Encrypt's Plaintext).
            if (body is not null)
            {
                CryptographicOperations.ZeroMemory(body);
            }

            gate.Exit();
        }
    }

    /// <summary>The whole body, or null when it is over <see cref="MaxBodyLength"/>.</summary>
    /// <exception cref="BadHttpRequestException">Kestrel refused the body (a chunked body past its bound, a broken framing).</exception>
    private static async Task<byte[]?> ReadBodyAsync(HttpContext context)
    {
        if (context.Request.ContentLength > MaxBodyLength)
        {
            return null;
        }

        var reader = context.Request.BodyReader;
        var result = await reader.ReadAtLeastAsync(MaxBodyLength + 1, context.RequestAborted);
        try
        {
            return result.Buffer.Length > MaxBodyLength ? null : result.Buffer.ToArray();
        }
        finally
        {
            reader.AdvanceTo(result.Buffer.End);
        }
    }

    private static async Task WriteAsync(HttpContext context, KmsProxyAnswer answer)
    {
        try
        {
            context.Response.StatusCode = answer.StatusCode;
            context.Response.ContentType = answer.ContentType;
            if (answer.ErrorType is { } type)
            {
                context.Response.Headers["x-amzn-ErrorType"] = type;
            }

            context.Response.ContentLength = answer.Body.Length;
            await context.Response.Body.WriteAsync(answer.Body, context.RequestAborted);
        }
        finally
        {
            // The answer may hold plaintext (Plaintext, PrivateKeyPlaintext, SharedSecret, base64).
            CryptographicOperations.ZeroMemory(answer.Body);
        }
    }

    private sealed class Gate(int limit)
    {
        private int _inFlight;

        public int Limit { get; } = limit;

        public bool TryEnter()
        {
            if (Interlocked.Increment(ref _inFlight) <= Limit)
            {
                return true;
            }

            Interlocked.Decrement(ref _inFlight);
            return false;
        }

        public void Exit() => Interlocked.Decrement(ref _inFlight);
    }
}
