using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Cloister.Attestation.Nsm;
using Cloister.Attestation.Simulation;
using Cloister.Attestation.Verification;
using Cloister.Provisioner;
using Cloister.Provisioner.Api;
using Cloister.Runtime.Provisioning;

namespace Cloister.Benchmarks.Provisioning;

/// <summary>
/// Provisioning round trips against a real provisioner (HTTPS on 127.0.0.1, SQLite, real document verification under
/// a simulated Nitro root), then, in the same run, the <see cref="AttestationVerifier"/> alone on the same kind of
/// documents. One round trip is what an enclave's provisioning costs: a token from the host API (mTLS), an ephemeral
/// P-384 key and a software NSM document, <c>POST /v1/provision</c>, the envelope opened. Not a BenchmarkDotNet
/// benchmark: it measures throughput and latency percentiles under concurrency, which BenchmarkDotNet does not.
/// </summary>
internal static class ProvisioningRoundTrips
{
    public const string Command = "provision";

    private const string Deployment = "bench";
    private static readonly TimeSpan s_warmup = TimeSpan.FromSeconds(3);

    public static async Task<int> RunAsync(string[] args)
    {
        var seconds = args.Length > 1 ? double.Parse(args[1], CultureInfo.InvariantCulture) : 20;
        var concurrency = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 4;
        var directory = Directory.CreateTempSubdirectory("cloister-bench-provision-");
        try
        {
            using var root = SimulatedNitroRoot.Create();
            var rootPem = Path.Combine(directory.FullName, "root.pem");
            await File.WriteAllTextAsync(rootPem, root.ExportCertificatePem());
            var nsmOptions = new SoftwareNsmOptions();
            foreach (var index in (int[])[0, 1, 2])
            {
                nsmOptions.Pcrs[index] = SHA384.HashData([(byte)index]);
            }

            using var nsm = new SoftwareNsm(root, nsmOptions);
            var provisionerDirectory = Path.Combine(directory.FullName, "provisioner");
            Cloister.Provisioner.Identity.ProvisionerIdentity.Create(provisionerDirectory, new Uri("https://127.0.0.1:8443")).Dispose();
            await using var running = await ProvisionerServer.StartAsync(new ProvisionerOptions
            {
                Directory = provisionerDirectory,
                Listen = new IPEndPoint(IPAddress.Loopback, 0),
                AttestationRootPem = rootPem,
            });
            var pin = running.Pin.ToArray();
            var operatorCredentials = ProvisionerCredentials.Read(Path.Combine(provisionerDirectory, "operator.json"));
            using var operatorCertificate = operatorCredentials.ClientCertificate();
            using var operatorClient = Client(running.Url, pin, operatorCertificate);
            await SetUpDeploymentAsync(operatorClient, nsmOptions);
            using var hostCertificate = await AddHostAsync(operatorClient);
            using var host = Client(running.Url, pin, hostCertificate);
            using var enclave = Client(running.Url, pin, certificate: null);

            async Task<(double RoundTrip, double Provision)> OnceAsync()
            {
                var start = Stopwatch.GetTimestamp();
                using var tokenResponse = await host.PostAsJsonAsync(ProvisioningProtocol.TokensPath, new TokenRequest { Deployment = Deployment }, ProvisioningJson.Default.TokenRequest);
                tokenResponse.EnsureSuccessStatusCode();
                var token = (await tokenResponse.Content.ReadFromJsonAsync(ProvisioningJson.Default.TokenResponse))!.Token;
                using var key = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP384);
                var document = ((AttestationResponse)nsm.Process(new AttestationRequest(
                    ProvisioningToken.HashOf(token), RandomNumberGenerator.GetBytes(32), key.PublicKey.ExportSubjectPublicKeyInfo()))).Document;
                var provisionStart = Stopwatch.GetTimestamp();
                using var response = await enclave.PostAsJsonAsync(
                    ProvisioningProtocol.ProvisionPath,
                    new ProvisionRequest { Deployment = Deployment, Token = token, AttestationDocument = document },
                    ProvisioningJson.Default.ProvisionRequest);
                response.EnsureSuccessStatusCode();
                var sealedAnswer = (await response.Content.ReadFromJsonAsync(ProvisioningJson.Default.ProvisionResponse))!.Answer;
                var provisioned = Stopwatch.GetElapsedTime(provisionStart).TotalMilliseconds;
                var answer = JsonSerializer.Deserialize(ProvisioningEnvelope.Open(sealedAnswer, key, ProvisioningToken.HashOf(token)), ProvisioningJson.Default.ProvisioningAnswer)!;
                if (answer.Deployment != Deployment || answer.Secrets.Count != 3)
                {
                    throw new InvalidOperationException("the answer is not the deployment's");
                }

                return (Stopwatch.GetElapsedTime(start).TotalMilliseconds, provisioned);
            }

            await RunForAsync(s_warmup, concurrency, OnceAsync);
            var (elapsed, samples) = await RunForAsync(TimeSpan.FromSeconds(seconds), concurrency, OnceAsync);
            var roundTrips = samples.Select(s => s.RoundTrip).Order().ToArray();
            var provisions = samples.Select(s => s.Provision).Order().ToArray();
            Print($"provisioning: {samples.Count} round trips in {elapsed.TotalSeconds:0.0} s with {concurrency} concurrent enclaves = {samples.Count / elapsed.TotalSeconds:0} round trips/s");
            Print($"  round trip (token + document + provision + open): p50 {Percentile(roundTrips, 0.50):0.0} ms, p99 {Percentile(roundTrips, 0.99):0.0} ms");
            Print($"  POST /v1/provision alone:                         p50 {Percentile(provisions, 0.50):0.0} ms, p99 {Percentile(provisions, 0.99):0.0} ms");

            // The same verifier configuration the provisioner uses, on documents from the same NSM.
            var verifier = new AttestationVerifier(new AttestationVerifierOptions { TrustedRoots = [root.Certificate] });
            var documents = Enumerable.Range(0, 64).Select(_ => ((AttestationResponse)nsm.Process(new AttestationRequest(
                RandomNumberGenerator.GetBytes(48), RandomNumberGenerator.GetBytes(32), RandomNumberGenerator.GetBytes(120)))).Document).ToArray();
            var verifySeconds = TimeSpan.FromSeconds(Math.Max(2, seconds / 4));
            Print($"verifier, one thread:    {VerificationsPerSecond(verifier, documents, verifySeconds, parallel: false):0} verifications/s");
            Print($"verifier, all {Environment.ProcessorCount} cores: {VerificationsPerSecond(verifier, documents, verifySeconds, parallel: true):0} verifications/s");
            return 0;
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    private static async Task SetUpDeploymentAsync(HttpClient operatorClient, SoftwareNsmOptions nsmOptions)
    {
        using var deployed = await operatorClient.PutAsJsonAsync($"/v1/deployments/{Deployment}", new DeploymentRequest
        {
            Hostnames = ["bench.example.com"],
            PcrSet = nsmOptions.Pcrs.ToDictionary(pcr => string.Create(CultureInfo.InvariantCulture, $"PCR{pcr.Key}"), pcr => Convert.ToHexStringLower(pcr.Value)),
        }, OperatorJson.Default.DeploymentRequest);
        deployed.EnsureSuccessStatusCode();
        foreach (var name in (string[])["API_KEY", "DATABASE_URL", "SESSION_SECRET"])
        {
            using var content = new ByteArrayContent(RandomNumberGenerator.GetBytes(48).Select(b => (byte)('a' + (b % 26))).ToArray());
            (await operatorClient.PutAsync($"/v1/deployments/{Deployment}/secrets/{name}", content)).EnsureSuccessStatusCode();
        }
    }

    private static async Task<X509Certificate2> AddHostAsync(HttpClient operatorClient)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var csr = new CertificateRequest("CN=bench-host", key, HashAlgorithmName.SHA384).CreateSigningRequestPem();
        using var response = await operatorClient.PostAsJsonAsync("/v1/hosts", new HostRequest { Name = "bench-host", Csr = csr }, OperatorJson.Default.HostRequest);
        response.EnsureSuccessStatusCode();
        var issued = (await response.Content.ReadFromJsonAsync(OperatorJson.Default.HostCertificate))!.Certificate;
        using var certificate = X509Certificate2.CreateFromPem(issued).CopyWithPrivateKey(key);
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), password: null);
    }

    private static HttpClient Client(Uri url, byte[] pin, X509Certificate2? certificate) =>
        new(new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, presented, _, _) => ProvisionerPin.Matches(presented, pin),
                LocalCertificateSelectionCallback = certificate is null ? null : (_, _, _, _, _) => certificate,
            },
        })
        { BaseAddress = url };

    private static async Task<(TimeSpan Elapsed, List<(double RoundTrip, double Provision)> Samples)> RunForAsync(
        TimeSpan duration, int concurrency, Func<Task<(double, double)>> once)
    {
        var samples = new List<(double, double)>();
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            while (clock.Elapsed < duration)
            {
                var sample = await once();
                lock (samples)
                {
                    samples.Add(sample);
                }
            }
        })));
        return (clock.Elapsed, samples);
    }

    private static double VerificationsPerSecond(AttestationVerifier verifier, byte[][] documents, TimeSpan duration, bool parallel)
    {
        var count = 0L;
        var clock = Stopwatch.StartNew();
        void Loop()
        {
            for (var i = 0; clock.Elapsed < duration; i++)
            {
                if (!verifier.Verify(documents[i % documents.Length]).IsValid)
                {
                    throw new InvalidOperationException("a document from the software NSM does not verify");
                }

                Interlocked.Increment(ref count);
            }
        }

        if (parallel)
        {
            Parallel.For(0, Environment.ProcessorCount, _ => Loop());
        }
        else
        {
            Loop();
        }

        return count / clock.Elapsed.TotalSeconds;
    }

    private static double Percentile(double[] sorted, double fraction) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(fraction * sorted.Length) - 1)];

    private static void Print(string line) => Console.WriteLine(line);
}
