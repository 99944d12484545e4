using System.Net.Security;
using System.Net.Sockets;
using Cloister.Attestation.Certificates;
using Cloister.Attestation.Tests.Simulation;
using Cloister.Client.Tls;
using Cloister.Testing;

namespace Cloister.Client.Tests.Tls;

/// <summary>The callback on a caller's own <see cref="SslStream"/>, for protocols other than HTTP.</summary>
public sealed class AttestedTlsValidationTests(SimulatedRootFixture fixture) : ScenarioTests(fixture)
{
    [Fact]
    public async Task An_sslstream_attests_the_server_and_keeps_the_result()
    {
        using var certificate = Scenario.Enclave.Certificate();
        await using var server = new TestTlsServer(certificate);
        var validation = new AttestedTlsValidation(Scenario.Verifier(), Scenario.Host);

        using var client = new TcpClient();
        await client.ConnectAsync(Scenario.Host, server.Port);
        await using var stream = new SslStream(client.GetStream());
        await stream.AuthenticateAsClientAsync(validation.CreateOptions());

        Assert.Equal(Scenario.Host, validation.ServerName);
        Assert.True(validation.Result!.IsValid);
        Assert.Equal(Scenario.Enclave.ModuleId, validation.Result.Document!.ModuleId);
    }

    [Fact]
    public async Task A_refused_server_fails_the_handshake_with_the_reason()
    {
        using var debug = new TestEnclave(Scenario.Root, Scenario.Time, debug: true);
        using var certificate = debug.Certificate();
        await using var server = new TestTlsServer(certificate);
        var validation = new AttestedTlsValidation(Scenario.Verifier(pcrs: debug.Policy), Scenario.Host, [42]);

        using var client = new TcpClient();
        await client.ConnectAsync(Scenario.Host, server.Port);
        await using var stream = new SslStream(client.GetStream());
        var thrown = await Assert.ThrowsAsync<AttestedTlsException>(() => stream.AuthenticateAsClientAsync(validation.CreateOptions()));

        Assert.Equal(NonceHostName.Format([42], Scenario.Host), validation.ServerName);
        Assert.Equal(AttestedTlsFailure.DocumentInvalid, thrown.Failure);
        Assert.Equal(Attestation.Verification.AttestationFailure.DebugModeRefused, thrown.Result!.DocumentFailure);
        Assert.False(stream.IsAuthenticated);
        Assert.Same(thrown.Result, validation.Result);
    }
}
