using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Cloister.Attestation.Verification;
using Cloister.Provisioner.AtRest;
using Cloister.Provisioner.Identity;
using Cloister.Provisioner.Storage;
using Cloister.Runtime.Provisioning;
using Microsoft.Extensions.Logging;

namespace Cloister.Provisioner.Provisioning;

/// <summary>
/// Issues host tokens and decides provisioning requests: the checks of <c>POST /v1/provision</c> in the order of
/// docs/provisioning.md, an audit entry for every decision, and the answer sealed to the enclave's key.
/// </summary>
public sealed partial class ProvisioningService
{
    private const string P384Oid = "1.3.132.0.34";
    private static readonly int[] s_auditedPcrs = [0, 1, 2, 3, 4, 8];

    private readonly ProvisionerIdentity _identity;
    private readonly IProvisionerStore _store;
    private readonly AttestationVerifier _verifier;
    private readonly TimeProvider _time;
    private readonly TimeSpan _tokenLifetime;
    private readonly TimeSpan _maxDocumentAge;
    private readonly ILogger _logger;
    private readonly DeploymentKeyService _keys;

    /// <summary>Creates the service.</summary>
    /// <param name="identity">The provisioner's keys.</param>
    /// <param name="store">Its store.</param>
    /// <param name="verifier">The attestation verifier (trusting the AWS root, or the operator's simulated root).</param>
    /// <param name="options">The clock, token lifetime and maximum document age.</param>
    /// <param name="logger">Where decisions are logged.</param>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    public ProvisioningService(ProvisionerIdentity identity, IProvisionerStore store, AttestationVerifier verifier, ProvisionerOptions options, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(verifier);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        _identity = identity;
        _store = store;
        _verifier = verifier;
        _time = options.TimeProvider;
        _tokenLifetime = options.TokenLifetime;
        _maxDocumentAge = options.MaxDocumentAge;
        _logger = logger;
        _keys = new DeploymentKeyService(identity.StorageKey, store, options.TimeProvider);
    }

    /// <summary>Issues a token for a host, recorded (so it is redeemed once) and audited.</summary>
    /// <param name="host">The authenticated, unrevoked host.</param>
    /// <param name="deployment">The deployment it asks for.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The token, or <see langword="null"/> when there is no such deployment.</returns>
    /// <exception cref="System.Data.Common.DbException">The store failed.</exception>
    public async Task<TokenResponse?> IssueTokenAsync(string host, string deployment, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        if (!Names.IsEntityName(deployment) || await _store.GetDeploymentAsync(deployment, cancellationToken).ConfigureAwait(false) is null)
        {
            await AuditAsync(now, $"host:{host}", "token", null, host, "refused", "unknown-deployment", null, cancellationToken).ConfigureAwait(false);
            return null;
        }

        var token = ProvisioningToken.Issue(deployment, host, now, _tokenLifetime, _identity.TokenKey);
        await _store.AddTokenAsync(new TokenRecord(token.Id, deployment, host, token.IssuedAt, token.ExpiresAt), cancellationToken).ConfigureAwait(false);
        await AuditAsync(now, $"host:{host}", "token", deployment, host, "granted", null, null, cancellationToken).ConfigureAwait(false);
        LogTokenIssued(_logger, deployment, host, token.ExpiresAt);
        return new TokenResponse { Token = token.Text, ExpiresAt = token.ExpiresAt };
    }

    /// <summary>Decides a provisioning request, audits the decision, and seals the answer when granted.</summary>
    /// <param name="request">The request, or <see langword="null"/> when the body was not one (refused as <see cref="ProvisioningRefusal.Request"/>).</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The outcome.</returns>
    /// <exception cref="System.Data.Common.DbException">The store failed.</exception>
    /// <exception cref="CryptographicException">A stored value does not open with the storage key (the database and the directory do not belong together).</exception>
    public async Task<ProvisioningOutcome> ProvisionAsync(ProvisionRequest? request, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var decision = await DecideAsync(request, now, cancellationToken).ConfigureAwait(false);
        if (decision.Refusal != ProvisioningRefusal.None)
        {
            LogRefused(_logger, decision.Refusal.Name(), request?.Deployment, decision.Host, decision.Detail);
            await AuditAsync(now, "enclave", "provision", request?.Deployment, decision.Host, "refused", $"{decision.Refusal.Name()}: {decision.Detail}", decision.Pcrs, cancellationToken).ConfigureAwait(false);
            return ProvisioningOutcome.Refused(decision.Refusal, decision.Detail!);
        }

        var answer = await AnswerAsync(decision.Deployment!, decision.Host, now, cancellationToken).ConfigureAwait(false);
        byte[]? plaintext = null;
        byte[] sealedAnswer;
        try
        {
            plaintext = JsonSerializer.SerializeToUtf8Bytes(answer, ProvisioningJson.Default.ProvisioningAnswer);
            sealedAnswer = ProvisioningEnvelope.Seal(plaintext, decision.PublicKey, ProvisioningToken.HashOf(request!.Token));
        }
        finally
        {
            // The keys' unsealed copies this process made are erased once sealed to the enclave (the CA key and the
            // secrets went through strings, which cannot be erased).
            CryptographicOperations.ZeroMemory(plaintext);
            foreach (var key in answer.Keys.Versions)
            {
                CryptographicOperations.ZeroMemory(key.PrivateKey);
                CryptographicOperations.ZeroMemory(key.DataKey);
            }
        }

        await AuditAsync(now, "enclave", "provision", answer.Deployment, decision.Host, "granted", string.Create(CultureInfo.InvariantCulture, $"{answer.Secrets.Count} secrets, key versions 1-{answer.Keys.CurrentVersion}"), decision.Pcrs, cancellationToken).ConfigureAwait(false);
        LogGranted(_logger, answer.Deployment, decision.Host, answer.Secrets.Count);
        return ProvisioningOutcome.Granted(new ProvisionResponse { Answer = sealedAnswer });
    }

    private async Task<Decision> DecideAsync(ProvisionRequest? request, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (request is null)
        {
            return new(ProvisioningRefusal.Request, "the body is not a provisioning request");
        }

        // 1. Authenticity: structure, chain to the trusted root, validity, signature.
        var verification = _verifier.Verify(request.AttestationDocument);
        if (!verification.IsValid)
        {
            return new(ProvisioningRefusal.Document, verification.ToString());
        }

        var document = verification.Document!.Document;
        var pcrs = FormatPcrs(document.Pcrs);

        // 2. Age.
        if (now - document.Timestamp > _maxDocumentAge)
        {
            return new(ProvisioningRefusal.DocumentAge, $"the document is {now - document.Timestamp} old; at most {_maxDocumentAge}") { Pcrs = pcrs };
        }

        // 3. The token and its binding to the document.
        if (!ProvisioningToken.TryRead(request.Token, _identity.TokenKey, out var token, out var tokenFailure))
        {
            return new(ProvisioningRefusal.TokenSignature, $"the token: {tokenFailure}") { Pcrs = pcrs };
        }

        var host = token!.Host;
        if (now >= token.ExpiresAt)
        {
            return new(ProvisioningRefusal.TokenExpired, $"the token expired at {token.ExpiresAt:O}") { Pcrs = pcrs, Host = host };
        }

        if (!string.Equals(token.Deployment, request.Deployment, StringComparison.Ordinal))
        {
            return new(ProvisioningRefusal.TokenDeployment, $"the token is for deployment '{token.Deployment}'") { Pcrs = pcrs, Host = host };
        }

        if (document.UserData is not { } userData || !CryptographicOperations.FixedTimeEquals(userData, ProvisioningToken.HashOf(request.Token)))
        {
            return new(ProvisioningRefusal.UserData, "the document's user_data is not the SHA-384 of the token") { Pcrs = pcrs, Host = host };
        }

        if (document.PublicKey is not { } publicKey || !IsP384PublicKey(publicKey))
        {
            return new(ProvisioningRefusal.PublicKey, "the document's public_key is not a P-384 SubjectPublicKeyInfo") { Pcrs = pcrs, Host = host };
        }

        // 4. The deployment's measurements.
        var deployment = await _store.GetDeploymentAsync(request.Deployment, cancellationToken).ConfigureAwait(false);
        if (deployment is null)
        {
            return new(ProvisioningRefusal.UnknownDeployment, $"there is no deployment '{request.Deployment}'") { Pcrs = pcrs, Host = host };
        }

        if (await _store.GetHostAsync(host, cancellationToken).ConfigureAwait(false) is not { RevokedAt: null })
        {
            return new(ProvisioningRefusal.HostRevoked, $"host '{host}' is revoked or unknown") { Pcrs = pcrs, Host = host };
        }

        if (deployment.PcrSets.Count == 0)
        {
            return new(ProvisioningRefusal.Pcrs, "the deployment has no PCR set") { Pcrs = pcrs, Host = host };
        }

        if (!deployment.PcrSets.Any(set => Matches(set, document.Pcrs)))
        {
            return new(ProvisioningRefusal.Pcrs, $"the PCRs match none of the deployment's {deployment.PcrSets.Count} PCR sets") { Pcrs = pcrs, Host = host };
        }

        if (document.IsDebugMode && !deployment.AllowDebug)
        {
            return new(ProvisioningRefusal.Debug, "the enclave runs in debug mode and the deployment does not allow it") { Pcrs = pcrs, Host = host };
        }

        // 5. Single use, last: a request refused for any other reason does not spend the token.
        if (!await _store.RedeemTokenAsync(token.Id, now, cancellationToken).ConfigureAwait(false))
        {
            return new(ProvisioningRefusal.TokenReplayed, $"token {token.Id} was already redeemed or never issued") { Pcrs = pcrs, Host = host };
        }

        return new(ProvisioningRefusal.None, null) { Pcrs = pcrs, Host = host, Deployment = deployment, PublicKey = publicKey };
    }

    private async Task<ProvisioningAnswer> AnswerAsync(DeploymentRecord deployment, string? host, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var (certificatePem, keyPem) = await CurrentCertificateAuthorityAsync(deployment, now, cancellationToken).ConfigureAwait(false);
        var (keys, created) = await _keys.EnsureAsync(deployment.Name, cancellationToken).ConfigureAwait(false);
        if (created)
        {
            // A deployment made before deployment keys existed gets them at its first provisioning.
            await AuditAsync(now, "enclave", "keys.create", deployment.Name, host, "done", DeploymentKeyService.Describe(keys[0]), null, cancellationToken).ConfigureAwait(false);
        }

        var secrets = new List<ProvisionedSecret>();
        foreach (var secret in await _store.GetSecretsAsync(deployment.Name, cancellationToken).ConfigureAwait(false))
        {
            var value = _identity.StorageKey.Open(secret.SealedValue, StorageBinding.Secret(deployment.Name, secret.Name, secret.Version));
            secrets.Add(new ProvisionedSecret { Name = secret.Name, Value = Encoding.UTF8.GetString(value), Version = secret.Version });
            CryptographicOperations.ZeroMemory(value);
        }

        return new ProvisioningAnswer
        {
            Deployment = deployment.Name,
            CertificateAuthority = new ProvisionedCertificateAuthority
            {
                Certificate = certificatePem,
                PrivateKey = keyPem,
                Chain = [_identity.RootCaCertificate.ExportCertificatePem()],
            },
            Secrets = secrets,
            Keys = _keys.Unseal(keys),
        };
    }

    /// <summary>The deployment's CA, renewed first when less than a third of its lifetime remains.</summary>
    private async Task<(string CertificatePem, string KeyPem)> CurrentCertificateAuthorityAsync(DeploymentRecord deployment, DateTimeOffset now, CancellationToken cancellationToken)
    {
        using (var current = X509Certificate2.CreateFromPem(deployment.CaCertificatePem))
        {
            if (current.NotAfter.ToUniversalTime() - now.UtcDateTime > ProvisionerIdentity.DeploymentCaLifetime / 3)
            {
                var key = _identity.StorageKey.Open(deployment.SealedCaKey, StorageBinding.CertificateAuthority(deployment.Name, deployment.CaCertificatePem));
                return (deployment.CaCertificatePem, Encoding.ASCII.GetString(key));
            }
        }

        var (certificatePem, keyPem) = _identity.IssueDeploymentCa(deployment.Name, deployment.Hostnames, now);
        var sealedKey = _identity.StorageKey.Seal(Encoding.ASCII.GetBytes(keyPem), StorageBinding.CertificateAuthority(deployment.Name, certificatePem));
        if (await _store.ReplaceCertificateAuthorityAsync(deployment.Name, deployment.CaCertificatePem, certificatePem, sealedKey, cancellationToken).ConfigureAwait(false))
        {
            LogCertificateAuthorityRenewed(_logger, deployment.Name);
            return (certificatePem, keyPem);
        }

        // Another process renewed it (or an operator changed the hostnames) meanwhile: serve what is stored now.
        var stored = await _store.GetDeploymentAsync(deployment.Name, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"deployment '{deployment.Name}' was removed while it was provisioned");
        var storedKey = _identity.StorageKey.Open(stored.SealedCaKey, StorageBinding.CertificateAuthority(stored.Name, stored.CaCertificatePem));
        return (stored.CaCertificatePem, Encoding.ASCII.GetString(storedKey));
    }

    private Task<long> AuditAsync(
        DateTimeOffset at, string actor, string action, string? deployment, string? host, string outcome, string? reason, string? pcrs, CancellationToken cancellationToken) =>
        _store.AppendAuditAsync(new AuditEntry(0, at, actor, action, deployment, host, outcome, reason, pcrs), cancellationToken);

    private static bool Matches(IReadOnlyDictionary<int, byte[]> set, IReadOnlyDictionary<int, byte[]> pcrs) =>
        set.All(expected => pcrs.TryGetValue(expected.Key, out var actual) && CryptographicOperations.FixedTimeEquals(expected.Value, actual));

    private static bool IsP384PublicKey(byte[] subjectPublicKeyInfo)
    {
        using var key = ECDiffieHellman.Create();
        try
        {
            key.ImportSubjectPublicKeyInfo(subjectPublicKeyInfo, out var read);
            return read == subjectPublicKeyInfo.Length && key.ExportParameters(includePrivateParameters: false).Curve.Oid.Value == P384Oid;
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    private static string FormatPcrs(IReadOnlyDictionary<int, byte[]> pcrs) =>
        string.Join(',', s_auditedPcrs.Where(pcrs.ContainsKey).Select(i => string.Create(CultureInfo.InvariantCulture, $"{i}={Convert.ToHexStringLower(pcrs[i])}")));

    private sealed record Decision(ProvisioningRefusal Refusal, string? Detail)
    {
        public string? Pcrs { get; init; }

        public string? Host { get; init; }

        public DeploymentRecord? Deployment { get; init; }

        public byte[] PublicKey { get; init; } = [];
    }
}
