using System.Diagnostics;
using System.Security.Cryptography.X509Certificates;
using Amazon.KeyManagementService;
using Amazon.KeyManagementService.Model;
using Amazon.Runtime;
using Cloister.Attestation.Nsm;
using Cloister.Attestation.Simulation;
using Cloister.Testing;

namespace Cloister.Kms.TestServer.Tests;

/// <summary>The test KMS as bench scripts run it: <c>dotnet Cloister.Kms.TestServer.dll …</c>, KEY=VALUE lines on stdout, SIGTERM to stop.</summary>
public sealed class ProcessTests : IDisposable
{
    private static readonly string Dll = Path.Combine(AppContext.BaseDirectory, "Cloister.Kms.TestServer.dll");
    private readonly TempRunDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    [Fact]
    public async Task It_prints_what_a_client_needs_serves_attested_requests_under_a_policy_file_and_stops_on_SIGTERM()
    {
        using var root = SimulatedNitroRoot.Create();
        var rootPem = Path.Combine(_scratch.Path, "root.pem");
        await File.WriteAllTextAsync(rootPem, root.ExportCertificatePem());
        var nsmOptions = new SoftwareNsmOptions();
        nsmOptions.Pcrs[0] = KmsHarness.Pcr0;
        using var nsm = new SoftwareNsm(root, nsmOptions);
        var policy = Path.Combine(_scratch.Path, "policy.json");
        await File.WriteAllTextAsync(policy, $$"""
            {"Statement": [{"Effect": "Allow", "Action": "kms:GenerateRandom", "Resource": "*",
              "Condition": {"StringEqualsIgnoreCase": {"kms:RecipientAttestation:ImageSha384": "{{Convert.ToHexStringLower(KmsHarness.Pcr0)}}" } } }] }
            """);

        using var process = Start(["--attestation-root", rootPem, "--policy", "*=" + policy]);
        try
        {
            var printed = new Dictionary<string, string>();
            while (printed.Count < 9 && await process.StandardOutput.ReadLineAsync() is { } line)
            {
                var equals = line.IndexOf('=', StringComparison.Ordinal);
                printed[line[..equals]] = line[(equals + 1)..];
            }

            Assert.StartsWith("https://127.0.0.1:", printed["KMS_URL"], StringComparison.Ordinal);
            Assert.Equal("arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", printed["KMS_SYMMETRIC_KEY_ARN"]);
            using var ca = X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(printed["KMS_CA_FILE"]));
            using var rsa = System.Security.Cryptography.RSA.Create(2048);
            using var client = KmsHarness.CreateClient(new Uri(printed["KMS_URL"]), printed["KMS_REGION"],
                new BasicAWSCredentials(printed["KMS_ACCESS_KEY_ID"], printed["KMS_SECRET_ACCESS_KEY"]), ca);

            var document = ((AttestationResponse)nsm.Process(new AttestationRequest(publicKey: rsa.ExportSubjectPublicKeyInfo()))).Document;
            var answer = await client.GenerateRandomAsync(new GenerateRandomRequest
            {
                NumberOfBytes = 8,
                Recipient = new RecipientInfo { AttestationDocument = new MemoryStream(document), KeyEncryptionAlgorithm = KeyEncryptionMechanism.RSAES_OAEP_SHA_256 },
            });
            Assert.True(answer.CiphertextForRecipient.Length > 0);
            var refused = await Assert.ThrowsAnyAsync<AmazonKeyManagementServiceException>(() => client.GenerateRandomAsync(new GenerateRandomRequest { NumberOfBytes = 8 }));
            Assert.Equal("AccessDeniedException", refused.ErrorCode);

            using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
            await process.WaitForExitAsync(timeout.Token);
            Assert.Equal(0, process.ExitCode);
            Assert.False(File.Exists(printed["KMS_CA_FILE"]));
        }
        finally
        {
            // Only on failure: a passing run has stopped it with SIGTERM.
            if (!process.HasExited)
            {
                process.Kill();
            }
        }
    }

    [Fact]
    public async Task An_unknown_option_is_a_usage_error_and_a_missing_root_file_a_one_line_error()
    {
        using var usage = Start(["--bogus"]);
        var usageError = await usage.StandardError.ReadToEndAsync();
        await usage.WaitForExitAsync();
        Assert.Equal(2, usage.ExitCode);
        Assert.StartsWith("error: unknown option --bogus", usageError, StringComparison.Ordinal);

        using var missing = Start(["--attestation-root", Path.Combine(_scratch.Path, "absent.pem")]);
        var missingError = await missing.StandardError.ReadToEndAsync();
        await missing.WaitForExitAsync();
        Assert.Equal(1, missing.ExitCode);
        Assert.StartsWith("error: ", missingError, StringComparison.Ordinal);
        Assert.Single(missingError.TrimEnd().Split('\n'));

        var badPolicy = Path.Combine(_scratch.Path, "bad-policy.json");
        await File.WriteAllTextAsync(badPolicy, """{"Statement": [{"Effect": "Allow", "Action": "kms:*", "Condition": {"StringLike": {"kms:RecipientAttestation:PCR0": "*"}}}]}""");
        using var policy = Start(["--policy", $"alias/cloister-test={badPolicy}"]);
        var policyError = await policy.StandardError.ReadToEndAsync();
        await policy.WaitForExitAsync();
        Assert.Equal(1, policy.ExitCode);
        Assert.StartsWith("error: statement (no Sid): condition operator StringLike is not supported", policyError, StringComparison.Ordinal);
    }

    private static Process Start(string[] arguments)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(Dll);
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        return Process.Start(info) ?? throw new InvalidOperationException("dotnet did not start");
    }
}
