using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Cloister.Provisioner.AtRest;
using Cloister.Provisioner.Identity;
using Cloister.Provisioner.Provisioning;
using Cloister.Provisioner.Storage;
using Microsoft.AspNetCore.Http;

namespace Cloister.Provisioner.Api;

internal sealed partial class ProvisionerApi
{
    /// <summary>The largest secret value.</summary>
    public const int MaxSecretSize = 64 << 10;

    /// <summary>The most PCR sets a deployment accepts at once (a rolling deploy needs two or three).</summary>
    public const int MaxPcrSets = 16;

    private const int PcrSize = 48;
    private const int DefaultAuditPage = 100;
    private const int MaxAuditPage = 1000;

    private static readonly UTF8Encoding s_strictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private async Task PutDeploymentAsync(HttpContext context)
    {
        if (await AuthenticateAsync(context, ClientRole.Operator).ConfigureAwait(false) is not { } client
            || await RouteNameAsync(context, "name").ConfigureAwait(false) is not { } name
            || await ReadJsonAsync(context, OperatorJson.Default.DeploymentRequest).ConfigureAwait(false) is not { } request)
        {
            return;
        }

        string? pcrError = null;
        var pcrSet = request.PcrSet is null ? null : ParsePcrSet(request.PcrSet, out pcrError);
        if (pcrError is not null)
        {
            await ErrorAsync(context, StatusCodes.Status400BadRequest, pcrError).ConfigureAwait(false);
            return;
        }

        if (request.Replace && pcrSet is null)
        {
            await ErrorAsync(context, StatusCodes.Status400BadRequest, "replace needs a pcr_set to replace the deployment's sets with").ConfigureAwait(false);
            return;
        }

        var hostnameError = request.Hostnames switch
        {
            null => null,
            { Count: 0 } => "hostnames: at least one",
            var given => given.FirstOrDefault(h => !Names.IsHostname(h)) is { } bad ? $"hostnames: '{bad}' is not a lowercase DNS name" : null,
        };
        if (hostnameError is not null)
        {
            await ErrorAsync(context, StatusCodes.Status400BadRequest, hostnameError).ConfigureAwait(false);
            return;
        }

        var now = _time.GetUtcNow();
        var existing = await _store.GetDeploymentAsync(name, context.RequestAborted).ConfigureAwait(false);
        if (existing is null && request.Hostnames is null)
        {
            await ErrorAsync(context, StatusCodes.Status400BadRequest, $"deployment '{name}' is new: its hostnames are required").ConfigureAwait(false);
            return;
        }

        var hostnames = request.Hostnames?.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray() ?? [.. existing!.Hostnames];
        var sets = existing?.PcrSets.ToList() ?? [];
        if (request.Replace)
        {
            sets.Clear();
        }

        if (pcrSet is not null && !sets.Any(set => SameSet(set, pcrSet)))
        {
            sets.Add(pcrSet);
        }

        if (sets.Count > MaxPcrSets)
        {
            await ErrorAsync(context, StatusCodes.Status400BadRequest, $"a deployment accepts at most {MaxPcrSets} PCR sets; replace them").ConfigureAwait(false);
            return;
        }

        string caCertificate;
        byte[] caKey;
        if (existing is not null && existing.Hostnames.SequenceEqual(hostnames, StringComparer.Ordinal))
        {
            (caCertificate, caKey) = (existing.CaCertificatePem, existing.SealedCaKey);
        }
        else
        {
            var (certificatePem, keyPem) = _identity.IssueDeploymentCa(name, hostnames, now);
            (caCertificate, caKey) = (certificatePem, _identity.StorageKey.Seal(Encoding.ASCII.GetBytes(keyPem), StorageBinding.CertificateAuthority(name, certificatePem)));
        }

        var deployment = new DeploymentRecord(name, hostnames, request.AllowDebug ?? existing?.AllowDebug ?? false, sets, caCertificate, caKey);
        await _store.PutDeploymentAsync(deployment, context.RequestAborted).ConfigureAwait(false);
        await AuditAsync(client, "deployment.put", name, null, string.Create(
            CultureInfo.InvariantCulture,
            $"hostnames={string.Join(' ', hostnames)} pcr_sets={sets.Count} allow_debug={deployment.AllowDebug}{(caCertificate == existing?.CaCertificatePem ? "" : " new CA")}"), context).ConfigureAwait(false);
        // A new deployment gets its keys now; one that lacks them (made before they existed, or a crash between the
        // two writes) gets them at its next PUT or first need.
        await EnsureKeysAsync(client, name, context).ConfigureAwait(false);
        await WriteJsonAsync(context, View(deployment), OperatorJson.Default.DeploymentView).ConfigureAwait(false);
    }

    private async Task GetDeploymentAsync(HttpContext context)
    {
        if (await AuthenticateAsync(context, ClientRole.Operator).ConfigureAwait(false) is null
            || await RouteNameAsync(context, "name").ConfigureAwait(false) is not { } name
            || await DeploymentAsync(context, name).ConfigureAwait(false) is not { } deployment)
        {
            return;
        }

        await WriteJsonAsync(context, View(deployment), OperatorJson.Default.DeploymentView).ConfigureAwait(false);
    }

    private async Task GetKeysAsync(HttpContext context)
    {
        if (await AuthenticateAsync(context, ClientRole.Operator).ConfigureAwait(false) is not { } client
            || await RouteNameAsync(context, "name").ConfigureAwait(false) is not { } name
            || await DeploymentAsync(context, name).ConfigureAwait(false) is null)
        {
            return;
        }

        var versions = await EnsureKeysAsync(client, name, context).ConfigureAwait(false);
        await WriteJsonAsync(context, _keys.View(name, versions), OperatorJson.Default.DeploymentKeysView).ConfigureAwait(false);
    }

    private async Task RotateKeysAsync(HttpContext context)
    {
        if (await AuthenticateAsync(context, ClientRole.Operator).ConfigureAwait(false) is not { } client
            || await RouteNameAsync(context, "name").ConfigureAwait(false) is not { } name
            || await DeploymentAsync(context, name).ConfigureAwait(false) is null)
        {
            return;
        }

        await EnsureKeysAsync(client, name, context).ConfigureAwait(false);
        var version = await _keys.RotateAsync(name, context.RequestAborted).ConfigureAwait(false);
        // The ring as this rotation left it: a concurrent rotation's later version would make current_version another request's.
        var versions = (await _store.GetKeyVersionsAsync(name, context.RequestAborted).ConfigureAwait(false)).Where(v => v.Version <= version).ToList();
        await AuditAsync(client, "keys.rotate", name, null, DeploymentKeyService.Describe(versions[^1]), context).ConfigureAwait(false);
        await WriteJsonAsync(context, _keys.View(name, versions), OperatorJson.Default.DeploymentKeysView).ConfigureAwait(false);
    }

    /// <summary>The deployment's key versions, made (and audited as <c>keys.create</c>) if it has none.</summary>
    private async Task<IReadOnlyList<SealedKeyVersion>> EnsureKeysAsync(ClientIdentity client, string name, HttpContext context)
    {
        var (versions, created) = await _keys.EnsureAsync(name, context.RequestAborted).ConfigureAwait(false);
        if (created)
        {
            await AuditAsync(client, "keys.create", name, null, DeploymentKeyService.Describe(versions[0]), context).ConfigureAwait(false);
        }

        return versions;
    }

    private async Task SetSecretAsync(HttpContext context)
    {
        if (await AuthenticateAsync(context, ClientRole.Operator).ConfigureAwait(false) is not { } client
            || await RouteNameAsync(context, "name").ConfigureAwait(false) is not { } name
            || await SecretNameAsync(context).ConfigureAwait(false) is not { } secret
            || await DeploymentAsync(context, name).ConfigureAwait(false) is null)
        {
            return;
        }

        var value = await ReadSecretAsync(context).ConfigureAwait(false);
        if (value is null)
        {
            return;
        }

        int version;
        try
        {
            version = await _store.SetSecretAsync(
                name, secret, v => _identity.StorageKey.Seal(value, StorageBinding.Secret(name, secret, v)), _time.GetUtcNow(), context.RequestAborted).ConfigureAwait(false);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(value);
        }

        await AuditAsync(client, "secret.set", name, null, string.Create(CultureInfo.InvariantCulture, $"{secret} version {version}"), context).ConfigureAwait(false);
        await WriteJsonAsync(context, new SecretVersion { Name = secret, Version = version }, OperatorJson.Default.SecretVersion).ConfigureAwait(false);
    }

    private async Task ListSecretsAsync(HttpContext context)
    {
        if (await AuthenticateAsync(context, ClientRole.Operator).ConfigureAwait(false) is null
            || await RouteNameAsync(context, "name").ConfigureAwait(false) is not { } name
            || await DeploymentAsync(context, name).ConfigureAwait(false) is null)
        {
            return;
        }

        var secrets = await _store.ListSecretsAsync(name, context.RequestAborted).ConfigureAwait(false);
        await WriteJsonAsync(
            context,
            new SecretList { Secrets = [.. secrets.Select(s => new SecretListing { Name = s.Name, Version = s.Version, UpdatedAt = s.UpdatedAt })] },
            OperatorJson.Default.SecretList).ConfigureAwait(false);
    }

    private async Task RemoveSecretAsync(HttpContext context)
    {
        if (await AuthenticateAsync(context, ClientRole.Operator).ConfigureAwait(false) is not { } client
            || await RouteNameAsync(context, "name").ConfigureAwait(false) is not { } name
            || await SecretNameAsync(context).ConfigureAwait(false) is not { } secret)
        {
            return;
        }

        if (!await _store.RemoveSecretAsync(name, secret, context.RequestAborted).ConfigureAwait(false))
        {
            await ErrorAsync(context, StatusCodes.Status404NotFound, $"deployment '{name}' has no secret '{secret}'").ConfigureAwait(false);
            return;
        }

        await AuditAsync(client, "secret.rm", name, null, secret, context).ConfigureAwait(false);
        context.Response.StatusCode = StatusCodes.Status204NoContent;
    }

    private async Task AddHostAsync(HttpContext context)
    {
        if (await AuthenticateAsync(context, ClientRole.Operator).ConfigureAwait(false) is not { } client
            || await ReadJsonAsync(context, OperatorJson.Default.HostRequest).ConfigureAwait(false) is not { } request)
        {
            return;
        }

        if (!Names.IsEntityName(request.Name))
        {
            await ErrorAsync(context, StatusCodes.Status400BadRequest, $"'{request.Name}' is not a host name (letters, digits, '.', '_', '-'; at most 63)").ConfigureAwait(false);
            return;
        }

        var now = _time.GetUtcNow();
        X509Certificate2 certificate;
        try
        {
            certificate = _identity.IssueClientCertificate(request.Csr, request.Name, ClientRole.Host, now);
        }
        catch (FormatException ex)
        {
            await ErrorAsync(context, StatusCodes.Status400BadRequest, $"csr: {ex.Message}").ConfigureAwait(false);
            return;
        }

        using (certificate)
        {
            var record = new HostRecord(request.Name, certificate.SerialNumber.ToLowerInvariant(), ProvisionerIdentity.Thumbprint(certificate), now, null);
            if (!await _store.AddHostAsync(record, context.RequestAborted).ConfigureAwait(false))
            {
                await ErrorAsync(context, StatusCodes.Status409Conflict, $"host '{request.Name}' exists (a revoked host's name is not reused)").ConfigureAwait(false);
                return;
            }

            await AuditAsync(client, "host.add", null, request.Name, $"serial {record.CertificateSerial}", context).ConfigureAwait(false);
            await WriteJsonAsync(context, new HostCertificate { Name = request.Name, Certificate = certificate.ExportCertificatePem() }, OperatorJson.Default.HostCertificate).ConfigureAwait(false);
        }
    }

    private async Task RevokeHostAsync(HttpContext context)
    {
        if (await AuthenticateAsync(context, ClientRole.Operator).ConfigureAwait(false) is not { } client
            || await RouteNameAsync(context, "name").ConfigureAwait(false) is not { } name)
        {
            return;
        }

        if (!await _store.RevokeHostAsync(name, _time.GetUtcNow(), context.RequestAborted).ConfigureAwait(false))
        {
            await ErrorAsync(context, StatusCodes.Status404NotFound, $"there is no host '{name}'").ConfigureAwait(false);
            return;
        }

        await AuditAsync(client, "host.revoke", null, name, null, context).ConfigureAwait(false);
        context.Response.StatusCode = StatusCodes.Status204NoContent;
    }

    private async Task ReadAuditAsync(HttpContext context)
    {
        if (await AuthenticateAsync(context, ClientRole.Operator).ConfigureAwait(false) is null)
        {
            return;
        }

        var query = context.Request.Query;
        long after = 0;
        var limit = DefaultAuditPage;
        if ((query.TryGetValue("after", out var afterText) && !long.TryParse(afterText, NumberStyles.None, CultureInfo.InvariantCulture, out after))
            || (query.TryGetValue("limit", out var limitText) && (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > MaxAuditPage)))
        {
            await ErrorAsync(context, StatusCodes.Status400BadRequest, $"after is an entry id (0 or more); limit is 1 to {MaxAuditPage}").ConfigureAwait(false);
            return;
        }

        var entries = await _store.ReadAuditAsync(after, limit, context.RequestAborted).ConfigureAwait(false);
        await WriteJsonAsync(
            context,
            new AuditPage
            {
                Entries = [.. entries.Select(e => new AuditView
                {
                    Id = e.Id, At = e.At, Actor = e.Actor, Action = e.Action, Deployment = e.Deployment, Host = e.Host, Outcome = e.Outcome, Reason = e.Reason, Pcrs = e.Pcrs,
                })],
            },
            OperatorJson.Default.AuditPage).ConfigureAwait(false);
    }

    private Task<long> AuditAsync(ClientIdentity client, string action, string? deployment, string? host, string? reason, HttpContext context) =>
        _store.AppendAuditAsync(new AuditEntry(0, _time.GetUtcNow(), $"operator:{client.Name}", action, deployment, host, "done", reason, null), context.RequestAborted);

    private async Task<DeploymentRecord?> DeploymentAsync(HttpContext context, string name)
    {
        var deployment = await _store.GetDeploymentAsync(name, context.RequestAborted).ConfigureAwait(false);
        if (deployment is null)
        {
            await ErrorAsync(context, StatusCodes.Status404NotFound, $"there is no deployment '{name}'").ConfigureAwait(false);
        }

        return deployment;
    }

    private static async Task<string?> RouteNameAsync(HttpContext context, string key)
    {
        var name = context.Request.RouteValues[key] as string;
        if (Names.IsEntityName(name))
        {
            return name;
        }

        await ErrorAsync(context, StatusCodes.Status400BadRequest, $"'{name}' is not a name (letters, digits, '.', '_', '-'; at most 63)").ConfigureAwait(false);
        return null;
    }

    private static async Task<string?> SecretNameAsync(HttpContext context)
    {
        var name = context.Request.RouteValues["secret"] as string;
        if (Names.IsSecretName(name))
        {
            return name;
        }

        await ErrorAsync(context, StatusCodes.Status400BadRequest, $"'{name}' is not a secret name ([A-Za-z_][A-Za-z0-9_]*, at most {Names.MaxSecretName})").ConfigureAwait(false);
        return null;
    }

    /// <summary>The body as a secret value: at most 64 KiB of UTF-8 without NUL; otherwise answers 400/413 and returns <see langword="null"/>.</summary>
    private static async Task<byte[]?> ReadSecretAsync(HttpContext context)
    {
        var buffer = new byte[MaxSecretSize + 1];
        var length = 0;
        int read;
        while (length < buffer.Length && (read = await context.Request.Body.ReadAsync(buffer.AsMemory(length), context.RequestAborted).ConfigureAwait(false)) > 0)
        {
            length += read;
        }

        var value = buffer.AsSpan(0, length).ToArray();
        CryptographicOperations.ZeroMemory(buffer);
        string? error = null;
        if (length > MaxSecretSize)
        {
            error = $"a secret is at most {MaxSecretSize} bytes";
        }
        else if (value.AsSpan().Contains((byte)0))
        {
            error = "a secret cannot contain NUL (it becomes an environment variable)";
        }
        else
        {
            try
            {
                s_strictUtf8.GetCharCount(value);
            }
            catch (DecoderFallbackException)
            {
                error = "a secret is UTF-8 text";
            }
        }

        if (error is null)
        {
            return value;
        }

        CryptographicOperations.ZeroMemory(value);
        await ErrorAsync(context, length > MaxSecretSize ? StatusCodes.Status413PayloadTooLarge : StatusCodes.Status400BadRequest, error).ConfigureAwait(false);
        return null;
    }

    private static Dictionary<int, byte[]>? ParsePcrSet(IReadOnlyDictionary<string, string> given, out string? error)
    {
        error = null;
        var set = new Dictionary<int, byte[]>();
        foreach (var (key, hex) in given)
        {
            if (!key.StartsWith("PCR", StringComparison.Ordinal)
                || !int.TryParse(key.AsSpan(3), NumberStyles.None, CultureInfo.InvariantCulture, out var index) || index > 31
                || key.Length > 5 || (key.Length == 5 && key[3] == '0'))
            {
                error = $"pcr_set: '{key}' is not PCR0 to PCR31";
                return null;
            }

            if (hex.Length != 2 * PcrSize || !hex.All(char.IsAsciiHexDigit))
            {
                error = $"pcr_set: {key}: expected {2 * PcrSize} hex digits (SHA-384)";
                return null;
            }

            set[index] = Convert.FromHexString(hex);
        }

        if (set.Count == 0)
        {
            error = "pcr_set: at least one PCR";
            return null;
        }

        return set;
    }

    private static bool SameSet(IReadOnlyDictionary<int, byte[]> a, Dictionary<int, byte[]> b) =>
        a.Count == b.Count && a.All(p => b.TryGetValue(p.Key, out var value) && value.AsSpan().SequenceEqual(p.Value));

    private static DeploymentView View(DeploymentRecord deployment) => new()
    {
        Name = deployment.Name,
        Hostnames = deployment.Hostnames,
        PcrSets = [.. deployment.PcrSets.Select(set => (IReadOnlyDictionary<string, string>)set.OrderBy(p => p.Key)
            .ToDictionary(p => string.Create(CultureInfo.InvariantCulture, $"PCR{p.Key}"), p => Convert.ToHexStringLower(p.Value)))],
        AllowDebug = deployment.AllowDebug,
        CaCertificate = deployment.CaCertificatePem,
    };
}
