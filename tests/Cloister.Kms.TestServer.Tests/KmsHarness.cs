using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Amazon.KeyManagementService;
using Amazon.KeyManagementService.Model;
using Amazon.Runtime;
using Cloister.Attestation.Nsm;
using Cloister.Attestation.Simulation;
using Cloister.Kms.TestServer;

namespace Cloister.Kms.TestServer.Tests;

/// <summary>A running test KMS, a simulated Nitro root and NSM it trusts, and AWS SDK for .NET clients aimed at it.</summary>
internal sealed class KmsHarness : IAsyncDisposable
{
    public static readonly byte[] Pcr0 = SHA384.HashData("cloister test image"u8);
    public static readonly byte[] Pcr1 = SHA384.HashData("cloister test kernel"u8);
    public static readonly byte[] Pcr2 = SHA384.HashData("cloister test application"u8);

    private readonly List<IDisposable> _owned = [];

    private KmsHarness(SimulatedNitroRoot root, SoftwareNsm nsm, KmsTestServer server)
    {
        Root = root;
        Nsm = nsm;
        Server = server;
        RecipientKey = RSA.Create(2048);
    }

    public SimulatedNitroRoot Root { get; }

    public SoftwareNsm Nsm { get; }

    public KmsTestServer Server { get; }

    /// <summary>The enclave's RSA key that documents carry as public_key.</summary>
    public RSA RecipientKey { get; }

    public static async Task<KmsHarness> StartAsync(Func<KmsTestServerOptions, KmsTestServerOptions>? configure = null, TimeProvider? nsmClock = null)
    {
        var root = SimulatedNitroRoot.Create(nsmClock);
        var nsmOptions = new SoftwareNsmOptions();
        nsmOptions.Pcrs[0] = Pcr0;
        nsmOptions.Pcrs[1] = Pcr1;
        nsmOptions.Pcrs[2] = Pcr2;
        var nsm = new SoftwareNsm(root, nsmOptions, nsmClock);
        var options = new KmsTestServerOptions { AttestationRoot = root.Certificate };
        var server = await KmsTestServer.StartAsync(configure is null ? options : configure(options));
        return new KmsHarness(root, nsm, server);
    }

    /// <summary>An attestation document from the simulated NSM with <see cref="RecipientKey"/> as public_key.</summary>
    public byte[] AttestationDocument(RSA? key = null) =>
        ((AttestationResponse)Nsm.Process(new AttestationRequest(publicKey: (key ?? RecipientKey).ExportSubjectPublicKeyInfo()))).Document;

    public RecipientInfo Recipient(RSA? key = null) => new()
    {
        AttestationDocument = new MemoryStream(AttestationDocument(key)),
        KeyEncryptionAlgorithm = KeyEncryptionMechanism.RSAES_OAEP_SHA_256,
    };

    /// <summary>An SDK client with the server's credentials, unless others are given.</summary>
    public AmazonKeyManagementServiceClient Client(AWSCredentials? credentials = null, string? region = null)
    {
        var options = Server.Options;
        var client = CreateClient(
            Server.Url,
            region ?? options.Region,
            credentials ?? (options.Credentials.SessionToken is { } token
                ? new SessionAWSCredentials(options.Credentials.AccessKeyId, options.Credentials.SecretAccessKey, token)
                : new BasicAWSCredentials(options.Credentials.AccessKeyId, options.Credentials.SecretAccessKey)),
            Server.CaCertificate);
        _owned.Add(client);
        return client;
    }

    /// <summary>An unchanged SDK client for a KMS at <paramref name="url"/>, trusting only <paramref name="ca"/> for HTTPS.</summary>
    public static AmazonKeyManagementServiceClient CreateClient(Uri url, string region, AWSCredentials credentials, X509Certificate2? ca) =>
        new(credentials, new AmazonKeyManagementServiceConfig
        {
            ServiceURL = url.ToString(),
            AuthenticationRegion = region,
            MaxErrorRetry = 0,
            // A refused date must reach the test, not be "corrected" and retried.
            DisableClockSkewCorrection = true,
            // AWS_CA_BUNDLE may be set on this machine; a factory of our own owns certificate validation instead.
            HttpClientFactory = ca is null ? null : new TrustingFactory(ca),
        });

    public async ValueTask DisposeAsync()
    {
        foreach (var owned in _owned)
        {
            owned.Dispose();
        }

        await Server.DisposeAsync();
        RecipientKey.Dispose();
        Nsm.Dispose();
        Root.Dispose();
    }

    /// <summary>Trusts exactly the test KMS's CA, as an enclave with <c>kms_proxy.ca_file</c> would.</summary>
    private sealed class TrustingFactory(X509Certificate2 ca) : HttpClientFactory
    {
        public override HttpClient CreateHttpClient(IClientConfig clientConfig)
        {
            var handler = new SocketsHttpHandler();
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
            {
                if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None)
                {
                    return false;
                }

                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(ca);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return chain.Build(new X509Certificate2(certificate));
            };
            return new HttpClient(handler);
        }
    }
}
