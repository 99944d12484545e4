using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Cloister.Attestation.Verification;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Cloister.Kms.TestServer;

/// <summary>
/// A local AWS KMS for tests: KMS's JSON 1.1 protocol over HTTPS (or HTTP) on loopback, SigV4 checked, the actions
/// Encrypt, Decrypt, GenerateDataKey, GenerateDataKeyPair, DeriveSharedSecret, GenerateRandom, GetPublicKey and
/// DescribeKey, attested requests (<c>Recipient</c>) verified and answered with <c>CiphertextForRecipient</c>, and key
/// policies with <c>kms:RecipientAttestation:*</c> conditions. Knobs let tests make it misbehave as a hostile host
/// could (answer another key, encrypt to another recipient, answer an undecryptable envelope). Thread-safe.
/// </summary>
public sealed class KmsTestServer : IAsyncDisposable
{
    private const int MaxBodyLength = 1 << 20;

    private readonly WebApplication _app;
    private readonly TestCertificateAuthority? _authority;
    private readonly string? _temporaryDirectory;
    private readonly KmsOperations _operations;

    private KmsTestServer(KmsTestServerOptions options, WebApplication app, TestCertificateAuthority? authority, string? caFile, string? temporaryDirectory, KmsOperations operations)
    {
        Options = options;
        _app = app;
        _authority = authority;
        CaFile = caFile;
        _temporaryDirectory = temporaryDirectory;
        _operations = operations;
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        Url = new Uri(address.EndsWith('/') ? address : address + "/");
    }

    /// <summary>The options it started with.</summary>
    public KmsTestServerOptions Options { get; }

    /// <summary>The endpoint, e.g. <c>https://127.0.0.1:43121/</c>, to use as an SDK's service URL or <c>kms_proxy.endpoint</c>.</summary>
    public Uri Url { get; }

    /// <summary>The test CA's certificate (public only); <see langword="null"/> over plain HTTP.</summary>
    public X509Certificate2? CaCertificate => _authority?.Certificate;

    /// <summary>The test CA's certificate as PEM; <see langword="null"/> over plain HTTP.</summary>
    public string? CaPem => _authority?.Certificate.ExportCertificatePem();

    /// <summary>A file holding <see cref="CaPem"/> (for <c>kms_proxy.ca_file</c>); <see langword="null"/> over plain HTTP.</summary>
    public string? CaFile { get; }

    /// <summary>The ARN of the first symmetric key of <see cref="KmsTestServerOptions.Keys"/>.</summary>
    /// <exception cref="InvalidOperationException">The options define no symmetric key.</exception>
    public string SymmetricKeyArn => _operations.Keys.Keys.First(k => k.Definition.Spec == KmsTestKeySpec.SymmetricDefault).Arn;

    /// <summary>The ARN of the first key agreement key of <see cref="KmsTestServerOptions.Keys"/>.</summary>
    /// <exception cref="InvalidOperationException">The options define no key agreement key.</exception>
    public string KeyAgreementKeyArn => _operations.Keys.Keys.First(k => k.Definition.Spec == KmsTestKeySpec.EccNistP256KeyAgreement).Arn;

    /// <summary>
    /// Knob for the proxy's refusal tests: when set, every answer's <c>KeyId</c> is this value instead of the key
    /// used (key substitution). <see langword="null"/> (the default) answers honestly.
    /// </summary>
    public string? AnswerKeyId
    {
        get => _operations.AnswerKeyId;
        set => _operations.AnswerKeyId = value;
    }

    /// <summary>
    /// Knob for the proxy's refusal tests: when set (a DER SubjectPublicKeyInfo of an RSA key), every
    /// <c>CiphertextForRecipient</c> is encrypted to this key instead of the document's (recipient substitution).
    /// </summary>
    public byte[]? RecipientKeyOverride
    {
        get => _operations.RecipientKeyOverride;
        set => _operations.RecipientKeyOverride = value;
    }

    /// <summary>
    /// Knob for the proxy's refusal tests: when set, every <c>CiphertextForRecipient</c> is exactly these bytes
    /// (garbage, a truncated or tampered envelope: an undecryptable answer). Takes precedence over <see cref="RecipientKeyOverride"/>.
    /// </summary>
    public byte[]? RecipientCiphertextOverride
    {
        get => _operations.RecipientCiphertextOverride;
        set => _operations.RecipientCiphertextOverride = value;
    }

    /// <summary>Starts a server.</summary>
    /// <param name="options">How; the defaults when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>The running server; dispose it to stop.</returns>
    /// <exception cref="ArgumentException">
    /// A key definition is invalid (not a lowercase UUID, a repeated id or alias, an alias not <c>alias/…</c> or
    /// <c>alias/aws/…</c>), or <see cref="KmsTestServerOptions.MaxDocumentAge"/> is not positive.
    /// </exception>
    /// <exception cref="IOException">The port cannot be bound or the CA file cannot be written.</exception>
    public static async Task<KmsTestServer> StartAsync(KmsTestServerOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new KmsTestServerOptions();
        var verifier = new AttestationVerifier(new AttestationVerifierOptions
        {
            TrustedRoots = options.AttestationRoot is { } root ? [root] : null,
            MaxAge = options.MaxDocumentAge,
            TimeProvider = options.AttestationTimeProvider ?? options.TimeProvider,
        });
        var keys = new KmsKeyStore(options.Region, options.AccountId, options.Keys);
        var operations = new KmsOperations(keys, verifier);

        var signatures = new SigV4Verifier(options.Credentials, options.Region, options.TimeProvider);
        TestCertificateAuthority? authority = null;
        string? caFile = null;
        string? temporary = null;
        WebApplication? app = null;
        try
        {
            if (options.UseHttps)
            {
                authority = new TestCertificateAuthority();
                if (options.CaFilePath is { } path)
                {
                    caFile = path;
                }
                else
                {
                    temporary = Directory.CreateTempSubdirectory("cloister-test-kms-").FullName;
                    caFile = Path.Combine(temporary, "ca.pem");
                }

                await File.WriteAllTextAsync(caFile, authority.Certificate.ExportCertificatePem(), cancellationToken);
            }

            var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(kestrel =>
            {
                kestrel.Limits.MaxRequestBodySize = MaxBodyLength;
                kestrel.Listen(options.Listen, listen =>
                {
                    if (authority is not null)
                    {
                        listen.UseHttps(authority.ServerCertificate);
                    }
                });
            });
            app = builder.Build();
            app.Run(context => HandleAsync(context, signatures, operations));
            await app.StartAsync(cancellationToken);
            return new KmsTestServer(options, app, authority, caFile, temporary, operations);
        }
        catch
        {
            // A server that did not start leaves nothing behind: no keys, no listener, no temporary CA file.
            if (app is not null)
            {
                await app.DisposeAsync();
            }

            keys.Dispose();
            authority?.Dispose();
            if (temporary is not null)
            {
                Directory.Delete(temporary, recursive: true);
            }

            throw;
        }
    }

    /// <summary>
    /// Sets a key's policy (a JSON document with <c>Statement</c>), or <see langword="null"/> to allow everything (the
    /// default). <paramref name="keyArn"/> <c>"*"</c> sets the policy for GenerateRandom, which names no key (KMS
    /// authorizes it by IAM policy).
    /// </summary>
    /// <param name="keyArn">A key id, key ARN, alias, or <c>"*"</c>.</param>
    /// <param name="policyJson">The policy, or <see langword="null"/>.</param>
    /// <exception cref="ArgumentException">The policy is not JSON, has no Statement, or uses a condition operator other than StringEquals and StringEqualsIgnoreCase.</exception>
    /// <exception cref="KeyNotFoundException">No such key.</exception>
    public void SetPolicy(string keyArn, string? policyJson)
    {
        ArgumentNullException.ThrowIfNull(keyArn);
        var arn = keyArn == "*" ? "*" : ResolveArn(keyArn);
        var policy = policyJson is null ? null : KeyPolicy.Parse(policyJson);
        if (policy is null)
        {
            _operations.Policies.TryRemove(arn, out _);
        }
        else
        {
            _operations.Policies[arn] = policy;
        }
    }

    /// <summary>How many requests for <paramref name="action"/> (e.g. <c>"Decrypt"</c>) passed the signature check.</summary>
    /// <param name="action">The action name (X-Amz-Target after <c>TrentService.</c>).</param>
    /// <returns>The count since start or the last <see cref="ResetCounters"/>.</returns>
    public long CallCount(string action) => _operations.Calls.GetValueOrDefault(action);

    /// <summary>How many of <paramref name="action"/>'s requests carried a Recipient.</summary>
    /// <param name="action">The action name.</param>
    /// <returns>The count since start or the last <see cref="ResetCounters"/>.</returns>
    public long RecipientCallCount(string action) => _operations.RecipientCalls.GetValueOrDefault(action);

    /// <summary>Every action's count (requests that passed the signature check).</summary>
    public IReadOnlyDictionary<string, long> CallCounts => new Dictionary<string, long>(_operations.Calls);

    /// <summary>Sets every counter to zero.</summary>
    public void ResetCounters()
    {
        _operations.Calls.Clear();
        _operations.RecipientCalls.Clear();
    }

    /// <summary>Stops listening, releases the keys and removes the temporary CA file.</summary>
    /// <returns>A task that completes when the server has stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _operations.Keys.Dispose();
        _authority?.Dispose();
        if (_temporaryDirectory is not null)
        {
            Directory.Delete(_temporaryDirectory, recursive: true);
        }
    }

    private string ResolveArn(string keyId)
    {
        try
        {
            return _operations.Keys.Resolve(keyId).Arn;
        }
        catch (KmsErrorException ex)
        {
            throw new KeyNotFoundException(ex.Message, ex);
        }
    }

    private static async Task HandleAsync(HttpContext context, SigV4Verifier signatures, KmsOperations operations)
    {
        var response = context.Response;
        response.Headers["x-amzn-RequestId"] = Guid.NewGuid().ToString("D");
        byte[] answer;
        try
        {
            var body = await ReadBodyAsync(context.Request);
            if (!HttpMethods.IsPost(context.Request.Method) || context.Request.Path != "/")
            {
                throw new KmsErrorException("UnknownOperationException", "KMS answers POST / only", 404);
            }

            signatures.Verify(context.Request, body);
            var target = context.Request.Headers["X-Amz-Target"].ToString();
            const string prefix = "TrentService.";
            if (!target.StartsWith(prefix, StringComparison.Ordinal))
            {
                throw new KmsErrorException("UnknownOperationException", $"X-Amz-Target '{target}' is not TrentService.ACTION");
            }

            answer = operations.Handle(target[prefix.Length..], body);
            response.StatusCode = 200;
        }
        catch (KmsErrorException ex)
        {
            response.StatusCode = ex.Status;
            response.Headers["x-amzn-ErrorType"] = ex.Type;
            answer = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string> { ["__type"] = ex.Type, ["message"] = ex.Message });
        }

        response.ContentType = "application/x-amz-json-1.1";
        response.ContentLength = answer.Length;
        await response.Body.WriteAsync(answer, context.RequestAborted);
    }

    private static async Task<byte[]> ReadBodyAsync(HttpRequest request)
    {
        using var buffer = new MemoryStream();
        try
        {
            await request.Body.CopyToAsync(buffer, request.HttpContext.RequestAborted);
        }
        catch (Microsoft.AspNetCore.Http.BadHttpRequestException ex)
        {
            throw KmsErrorException.Validation($"the request body cannot be read: {ex.Message}");
        }

        return buffer.ToArray();
    }
}
