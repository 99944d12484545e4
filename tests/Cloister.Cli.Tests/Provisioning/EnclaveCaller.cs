using System.Net;
using System.Net.Http.Json;
using System.Net.Security;
using System.Security.Cryptography;
using Cloister.Attestation.Nsm;
using Cloister.Attestation.Simulation;
using Cloister.Runtime.Provisioning;

namespace Cloister.Cli.Tests.Provisioning;

/// <summary>
/// What an enclave sends to <c>POST /v1/provision</c>, made with a software NSM under a simulated root: an ephemeral
/// P-384 key, a document whose <c>user_data</c> is the token's SHA-384 and whose <c>public_key</c> is that key. The
/// connection has no client certificate and is pinned, as the enclave's is.
/// </summary>
internal sealed class EnclaveCaller : IDisposable
{
    private readonly HttpClient _http;

    public EnclaveCaller(byte[] pin)
    {
        var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = (_, certificate, _, _) => ProvisionerPin.Matches(certificate, pin) },
        };
        _http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(60) };
    }

    /// <summary>A document and the key it binds, for <paramref name="token"/>.</summary>
    public static (byte[] Document, ECDiffieHellman Key) Attest(SoftwareNsm nsm, string token)
    {
        var key = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP384);
        var request = new AttestationRequest(ProvisioningToken.HashOf(token), RandomNumberGenerator.GetBytes(32), key.PublicKey.ExportSubjectPublicKeyInfo());
        return (((AttestationResponse)nsm.Process(request)).Document, key);
    }

    /// <summary>Sends the request; the answer's envelope when granted, <see langword="null"/> when refused (403).</summary>
    public async Task<byte[]?> ProvisionAsync(Uri provisioner, string deployment, string token, byte[] document)
    {
        using var response = await _http.PostAsJsonAsync(
            new Uri(provisioner, ProvisioningProtocol.ProvisionPath),
            new ProvisionRequest { Deployment = deployment, Token = token, AttestationDocument = document },
            ProvisioningJson.Default.ProvisionRequest);
        if (response.StatusCode == HttpStatusCode.Forbidden)
        {
            return null;
        }

        response.EnsureSuccessStatusCode();
        var answer = await response.Content.ReadFromJsonAsync(ProvisioningJson.Default.ProvisionResponse);
        return answer!.Answer;
    }

    public void Dispose() => _http.Dispose();
}
