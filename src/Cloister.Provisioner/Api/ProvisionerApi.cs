using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Cloister.Provisioner.Identity;
using Cloister.Provisioner.Provisioning;
using Cloister.Provisioner.Storage;
using Cloister.Runtime.Provisioning;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;

namespace Cloister.Provisioner.Api;

/// <summary>
/// The HTTP endpoints of docs/provisioning.md on one listener. Each checks its own caller: the host API wants a
/// host certificate of an unrevoked host, the operator API an operator certificate, the enclave API nothing (its
/// request carries its own proof). Every error is <c>{"error": "&lt;one line&gt;"}</c>.
/// </summary>
internal sealed partial class ProvisionerApi
{
    private readonly ProvisionerIdentity _identity;
    private readonly IProvisionerStore _store;
    private readonly ProvisioningService _provisioning;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly DeploymentKeyService _keys;

    public ProvisionerApi(ProvisionerIdentity identity, IProvisionerStore store, ProvisioningService provisioning, TimeProvider time, ILogger logger)
    {
        _identity = identity;
        _store = store;
        _provisioning = provisioning;
        _time = time;
        _logger = logger;
        _keys = new DeploymentKeyService(identity.StorageKey, store, time);
    }

    public void Map(IEndpointRouteBuilder routes)
    {
        routes.MapPost(ProvisioningProtocol.TokensPath, IssueTokenAsync);
        routes.MapPost(ProvisioningProtocol.ProvisionPath, ProvisionAsync);
        routes.MapPut("/v1/deployments/{name}", PutDeploymentAsync);
        routes.MapGet("/v1/deployments/{name}", GetDeploymentAsync);
        routes.MapPut("/v1/deployments/{name}/secrets/{secret}", SetSecretAsync);
        routes.MapGet("/v1/deployments/{name}/secrets", ListSecretsAsync);
        routes.MapDelete("/v1/deployments/{name}/secrets/{secret}", RemoveSecretAsync);
        routes.MapGet("/v1/deployments/{name}/keys", GetKeysAsync);
        routes.MapPost("/v1/deployments/{name}/keys/rotate", RotateKeysAsync);
        routes.MapPost("/v1/hosts", AddHostAsync);
        routes.MapDelete("/v1/hosts/{name}", RevokeHostAsync);
        routes.MapGet("/v1/audit", ReadAuditAsync);
    }

    /// <summary>Turns what escapes a handler into a one-line error: the client's mistakes as 4xx, anything else as a logged 500.</summary>
    public async Task GuardAsync(HttpContext context, RequestDelegate next)
    {
        try
        {
            await next(context).ConfigureAwait(false);
        }
        catch (BadHttpRequestException ex) when (!context.Response.HasStarted)
        {
            await ErrorAsync(context, ex.StatusCode, ex.Message).ConfigureAwait(false);
        }
        catch (Exception ex) when (!context.Response.HasStarted && !context.RequestAborted.IsCancellationRequested)
        {
            LogFailed(_logger, context.Request.Method, context.Request.Path, ex);
            await ErrorAsync(context, StatusCodes.Status500InternalServerError, "internal error (see the provisioner's log)").ConfigureAwait(false);
        }
    }

    private async Task IssueTokenAsync(HttpContext context)
    {
        if (await AuthenticateAsync(context, ClientRole.Host).ConfigureAwait(false) is not { } host)
        {
            return;
        }

        if (await ReadJsonAsync(context, ProvisioningJson.Default.TokenRequest).ConfigureAwait(false) is not { } request)
        {
            return;
        }

        var token = await _provisioning.IssueTokenAsync(host.Name, request.Deployment, context.RequestAborted).ConfigureAwait(false);
        await (token is null
            ? ErrorAsync(context, StatusCodes.Status404NotFound, $"there is no deployment '{request.Deployment}'")
            : WriteJsonAsync(context, token, ProvisioningJson.Default.TokenResponse)).ConfigureAwait(false);
    }

    private async Task ProvisionAsync(HttpContext context)
    {
        ProvisionRequest? request;
        try
        {
            request = await JsonSerializer.DeserializeAsync(context.Request.Body, ProvisioningJson.Default.ProvisionRequest, context.RequestAborted).ConfigureAwait(false);
        }
        catch (JsonException)
        {
            request = null;
        }

        var outcome = await _provisioning.ProvisionAsync(request, context.RequestAborted).ConfigureAwait(false);
        if (outcome.IsGranted)
        {
            await WriteJsonAsync(context, outcome.Response!, ProvisioningJson.Default.ProvisionResponse).ConfigureAwait(false);
        }
        else
        {
            await ErrorAsync(context, StatusCodes.Status403Forbidden, ProvisioningProtocol.Refused).ConfigureAwait(false);
        }
    }

    /// <summary>The caller if its certificate has <paramref name="role"/> (and, for a host, belongs to an unrevoked host); otherwise answers 403 and returns <see langword="null"/>.</summary>
    private async Task<ClientIdentity?> AuthenticateAsync(HttpContext context, ClientRole role)
    {
        var roleName = role == ClientRole.Host ? "host" : "operator";
        var client = _identity.Authenticate(context.Connection.ClientCertificate, _time.GetUtcNow());
        if (client is null || client.Role != role)
        {
            LogUnauthenticated(_logger, context.Request.Path, roleName, client?.Name);
            await ErrorAsync(context, StatusCodes.Status403Forbidden, $"this API needs a {roleName} certificate issued by this provisioner").ConfigureAwait(false);
            return null;
        }

        // A host's certificate counts only while it is the one recorded for an unrevoked host: revoking the host (or
        // issuing it anew) retires every certificate it was given before.
        if (role == ClientRole.Host && !await IsCurrentHostCertificateAsync(client, context.RequestAborted).ConfigureAwait(false))
        {
            LogUnauthenticated(_logger, context.Request.Path, roleName, client.Name);
            await ErrorAsync(context, StatusCodes.Status403Forbidden, $"host '{client.Name}' is revoked or unknown").ConfigureAwait(false);
            return null;
        }

        return client;
    }

    private async Task<bool> IsCurrentHostCertificateAsync(ClientIdentity client, CancellationToken cancellationToken) =>
        await _store.GetHostAsync(client.Name, cancellationToken).ConfigureAwait(false) is { RevokedAt: null } host
        && string.Equals(host.CertificateThumbprint, client.Thumbprint, StringComparison.Ordinal);

    private static async Task<T?> ReadJsonAsync<T>(HttpContext context, JsonTypeInfo<T> typeInfo)
        where T : class
    {
        try
        {
            if (await JsonSerializer.DeserializeAsync(context.Request.Body, typeInfo, context.RequestAborted).ConfigureAwait(false) is { } value)
            {
                return value;
            }
        }
        catch (JsonException ex)
        {
            await ErrorAsync(context, StatusCodes.Status400BadRequest, $"the body is not the expected JSON: {ex.Message}").ConfigureAwait(false);
            return null;
        }

        await ErrorAsync(context, StatusCodes.Status400BadRequest, "the body is null").ConfigureAwait(false);
        return null;
    }

    private static Task WriteJsonAsync<T>(HttpContext context, T value, JsonTypeInfo<T> typeInfo, int status = StatusCodes.Status200OK)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        return JsonSerializer.SerializeAsync(context.Response.Body, value, typeInfo, context.RequestAborted);
    }

    private static Task ErrorAsync(HttpContext context, int status, string error) =>
        WriteJsonAsync(context, new ProvisioningError { Error = error.ReplaceLineEndings(" ") }, ProvisioningJson.Default.ProvisioningError, status);
}
