using Cloister.Kms.Upstream;
using Cloister.Runtime.Files;
using Cloister.Runtime.Manifest;
using Cloister.Runtime.Vsock;

namespace Cloister.Enclave.Kms;

/// <summary>The supervisor's KMS upstream as the manifest's <c>kms_proxy</c> describes it.</summary>
internal static class KmsUpstreamFactory
{
    /// <summary>
    /// Builds the upstream: the manifest's endpoint (or <c>https://kms.REGION.amazonaws.com/</c>), its <c>ca_file</c>'s
    /// roots (or the built-in Amazon Trust Services roots), connections through the host's egress forwarder, and the
    /// host's credentials from vsock 7004. Nothing is connected until the first call.
    /// </summary>
    /// <param name="settings">The manifest's <c>kms_proxy</c>.</param>
    /// <param name="transport">The enclave's vsock transport.</param>
    /// <returns>The upstream; the caller disposes it.</returns>
    /// <exception cref="SupervisorStartupException">The endpoint, region or <c>ca_file</c> cannot be used (<see cref="StartupFailure.Configuration"/>); the message is one line.</exception>
    public static KmsUpstream Create(KmsProxySettings settings, VsockTransport transport)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(transport);
        try
        {
            var endpoint = settings.Endpoint is { } named
                ? Uri.TryCreate(named, UriKind.Absolute, out var url) ? url : throw new ArgumentException($"the endpoint '{named}' is not an absolute URL")
                : KmsUpstreamOptions.DefaultEndpoint(settings.Region);
            var credentials = new HostCredentialsSource(transport, TimeProvider.System);
            return new KmsUpstream(new KmsUpstreamOptions
            {
                Endpoint = endpoint,
                Region = settings.Region,
                TrustRoots = settings.CaFile is { } caFile
                    ? KmsTrustRoots.FromPem(BoundedFile.ReadAllText(caFile, FileSizeLimits.KeyOrCertificate, "kms_proxy.ca_file"), caFile)
                    : KmsTrustRoots.BuiltIn(),
                OpenTunnel = (host, port, cancellationToken) => EgressTunnel.OpenAsync(transport, host, port, cancellationToken),
                Credentials = credentials.GetAsync,
            });
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidDataException or IOException or UnauthorizedAccessException)
        {
            throw new SupervisorStartupException(StartupFailure.Configuration, $"kms_proxy: {ex.Message.ReplaceLineEndings(" ")}", ex);
        }
    }
}
