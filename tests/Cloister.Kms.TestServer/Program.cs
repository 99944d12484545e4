using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Cloister.Host.Simulation;
using Cloister.Kms.TestServer;

// The test KMS as a process for bench scripts and end-to-end runs: starts, prints what a client needs as KEY=VALUE
// lines (shell-friendly), and serves until SIGTERM or SIGINT. (Not until stdin closes: a script's background job
// reads /dev/null.)
const string Usage = """
    usage: Cloister.Kms.TestServer [--listen IP:PORT] [--http] [--region R] [--attestation-root PEM | --sim-root DIR]
                                   [--max-document-age SECONDS] [--ca-file PATH]
                                   [--access-key-id ID --secret-access-key SECRET [--session-token T]]
                                   [--policy KEY=FILE]...
    """;

var listen = new IPEndPoint(IPAddress.Loopback, 0);
var https = true;
var region = "us-east-1";
string? rootPath = null;
string? caFile = null;
var maxAge = TimeSpan.FromMinutes(5);
var defaults = new KmsTestServerOptions();
var accessKeyId = defaults.Credentials.AccessKeyId;
var secret = defaults.Credentials.SecretAccessKey;
string? sessionToken = null;
var policies = new List<(string Key, string File)>();

try
{
    for (var i = 0; i < args.Length; i++)
    {
        var name = args[i];
        if (name == "--http")
        {
            https = false;
            continue;
        }

        if (name is "-h" or "--help")
        {
            Console.WriteLine(Usage);
            return 0;
        }

        if (name is not ("--listen" or "--region" or "--attestation-root" or "--sim-root" or "--max-document-age" or "--ca-file" or
            "--access-key-id" or "--secret-access-key" or "--session-token" or "--policy"))
        {
            throw new FormatException($"unknown option {name}");
        }

        if (i + 1 >= args.Length)
        {
            throw new FormatException($"{name} needs a value");
        }

        var value = args[++i];
        switch (name)
        {
            case "--listen":
                listen = IPEndPoint.TryParse(value, out var endpoint) ? endpoint : throw new FormatException($"--listen '{value}' is not IP:PORT");
                break;
            case "--region":
                region = value;
                break;
            case "--attestation-root":
                rootPath = value;
                break;
            case "--sim-root":
                // The simulator's root, kept (or created) as `cloister run --sim-root DIR` keeps it, so that a bench can
                // start this server before its first run.
                if (!OperatingSystem.IsLinux())
                {
                    throw new FormatException("--sim-root needs Linux, as the simulator does");
                }

                using (SimulatedRootStore.LoadOrCreate(value, out _))
                {
                    rootPath = Path.Combine(value, SimulatedRootStore.CertificateFileName);
                }

                break;
            case "--max-document-age":
                maxAge = int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) && seconds > 0
                    ? TimeSpan.FromSeconds(seconds)
                    : throw new FormatException($"--max-document-age '{value}' is not a positive number of seconds");
                break;
            case "--ca-file":
                caFile = value;
                break;
            case "--access-key-id":
                accessKeyId = value;
                break;
            case "--secret-access-key":
                secret = value;
                break;
            case "--session-token":
                sessionToken = value;
                break;
            case "--policy":
                var equals = value.IndexOf('=', StringComparison.Ordinal);
                policies.Add(equals > 0 ? (value[..equals], value[(equals + 1)..]) : throw new FormatException($"--policy '{value}' is not KEY=FILE"));
                break;
        }
    }
}
catch (FormatException ex)
{
    Console.Error.WriteLine($"error: {ex.Message}");
    Console.Error.WriteLine(Usage);
    return 2;
}

X509Certificate2? root = null;
KmsTestServer? server = null;
try
{
    if (rootPath is not null)
    {
        root = X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(rootPath));
    }

    var policyTexts = new List<(string Key, string Json)>();
    foreach (var (key, file) in policies)
    {
        policyTexts.Add((key, await File.ReadAllTextAsync(file)));
    }

    server = await KmsTestServer.StartAsync(new KmsTestServerOptions
    {
        Listen = listen,
        UseHttps = https,
        Region = region,
        AttestationRoot = root,
        MaxDocumentAge = maxAge,
        CaFilePath = caFile,
        Credentials = new KmsCredentials(accessKeyId, secret, sessionToken),
    });
    foreach (var (key, json) in policyTexts)
    {
        server.SetPolicy(key, json);
    }
}
catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException or KeyNotFoundException)
{
    Console.Error.WriteLine($"error: {ex.Message}");
    if (server is not null)
    {
        await server.DisposeAsync();
    }

    return 1;
}

await using (server)
{
    Console.WriteLine($"KMS_URL={server.Url}");
    Console.WriteLine($"KMS_CA_FILE={server.CaFile}");
    Console.WriteLine($"KMS_REGION={region}");
    Console.WriteLine($"KMS_ACCESS_KEY_ID={accessKeyId}");
    Console.WriteLine($"KMS_SECRET_ACCESS_KEY={secret}");
    Console.WriteLine($"KMS_SYMMETRIC_KEY_ARN={server.SymmetricKeyArn}");
    Console.WriteLine($"KMS_SYMMETRIC_KEY_ALIAS={KmsTestServerOptions.DefaultSymmetricAlias}");
    Console.WriteLine($"KMS_KEY_AGREEMENT_KEY_ARN={server.KeyAgreementKeyArn}");
    Console.WriteLine($"KMS_KEY_AGREEMENT_KEY_ALIAS={KmsTestServerOptions.DefaultKeyAgreementAlias}");
    Console.Out.Flush();

    using var stop = new CancellationTokenSource();
    using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context => { context.Cancel = true; stop.Cancel(); });
    using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, context => { context.Cancel = true; stop.Cancel(); });
    await Task.Delay(Timeout.Infinite, stop.Token).ContinueWith(_ => { }, TaskScheduler.Default);
}

root?.Dispose();
return 0;
