using System.Text.Json;
using Cloister.Enclave.Host;
using Cloister.Runtime.Provisioning;
using Cloister.Runtime.Vsock;

namespace Cloister.Enclave.Provisioning;

/// <summary>Asks the host's token service (vsock 7005) for a token: one connection, one JSON line back.</summary>
internal static class HostTokenSource
{
    // A token is at most 2 KiB; its line, or an error line, fits with room to spare.
    private const int MaxLineLength = 8 << 10;

    /// <summary>Gets one token.</summary>
    /// <exception cref="ProvisioningTransportException">The host did not answer a token: unreachable, an error line, or not the wire format.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static async Task<string> GetAsync(VsockTransport transport, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transport);
        try
        {
            await using var stream = await transport.ConnectAsync(new VsockEndpoint(VsockEndpoint.HostCid, VsockEndpoint.ProvisioningTokenPort), cancellationToken);
            return Parse(await HostLine.ReadAsync(stream, MaxLineLength, cancellationToken));
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException)
        {
            throw new ProvisioningTransportException($"no token from the host (vsock {VsockEndpoint.ProvisioningTokenPort}): {ex.Message}", ex);
        }
    }

    /// <summary>Reads the token service's line: a <see cref="TokenResponse"/> or a <see cref="ProvisioningError"/>.</summary>
    /// <exception cref="ProvisioningTransportException">The line is an error or not the wire format.</exception>
    public static string Parse(ReadOnlySpan<byte> line)
    {
        try
        {
            using var json = JsonDocument.Parse(line.ToArray());
            if (json.RootElement.ValueKind == JsonValueKind.Object && json.RootElement.TryGetProperty("error", out _))
            {
                var error = json.RootElement.Deserialize(ProvisioningJson.Default.ProvisioningError)!;
                throw new ProvisioningTransportException($"the host has no token: {error.Error}");
            }

            var token = json.RootElement.Deserialize(ProvisioningJson.Default.TokenResponse);
            return token is { Token.Length: > 0 and <= ProvisioningToken.MaxLength }
                ? token.Token
                : throw new ProvisioningTransportException("the host's token is empty or too long");
        }
        catch (JsonException ex)
        {
            throw new ProvisioningTransportException($"the host's token line is not a token: {ex.Message}", ex);
        }
    }
}
