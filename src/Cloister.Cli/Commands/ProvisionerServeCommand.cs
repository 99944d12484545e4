using System.CommandLine;
using System.Data.Common;
using System.Net;
using System.Runtime.InteropServices;
using Cloister.Host.Simulation;
using Cloister.Provisioner;
using Cloister.Provisioner.Identity;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace Cloister.Cli.Commands;

/// <summary><c>cloister provisioner init DIR</c> and <c>cloister provisioner serve DIR</c>: make a provisioner and run it.</summary>
internal static class ProvisionerServeCommand
{
    private const string DefaultUrl = "https://localhost:7443";

    public static Command CreateInit()
    {
        var directory = new Argument<DirectoryInfo>("directory") { Description = "The provisioner's directory: created (mode 0700), or an empty one." };
        var url = new Option<string>("--url")
        {
            Description = $"The https://HOST:PORT URL enclaves and operators reach it at; HOST goes in its TLS certificate (default {DefaultUrl}).",
            DefaultValueFactory = _ => DefaultUrl,
        };
        var command = new Command("init", "Create a provisioner: its TLS key (which enclaves pin), CAs, at-rest key and a first operator's credentials.") { directory, url };
        command.SetAction(parseResult =>
        {
            var path = parseResult.GetRequiredValue(directory).FullName;
            var text = parseResult.GetRequiredValue(url);
            if (!Uri.TryCreate(text, UriKind.Absolute, out var provisioner) || provisioner.Scheme != Uri.UriSchemeHttps || provisioner.Host.Length == 0 || provisioner.AbsolutePath != "/")
            {
                throw CommandFailedException.Usage($"--url: '{text}' is not an https://HOST:PORT URL");
            }

            if (Directory.Exists(path) && Directory.EnumerateFileSystemEntries(path).Any())
            {
                throw CommandFailedException.Usage($"{path} is not empty; a provisioner is created in a new or empty directory");
            }

            using var identity = ProvisionerIdentity.Create(path, provisioner);
            var pin = Convert.ToHexStringLower(identity.Pin);
            // Paths and the URL come from the command line; a control character in them must not reach the terminal raw.
            var (at, dir) = (TerminalText.Escape(provisioner.GetLeftPart(UriPartial.Authority)), TerminalText.Escape(path));
            var operatorFile = Path.Combine(dir, ProvisionerIdentity.OperatorCredentialsFile);
            Console.Out.Write($"""
                created the provisioner {at} in {dir}

                provisioning.pinned_sha256: {pin}
                  (the SHA-256 of its TLS key; put it in enclave.yaml: provisioning: {"{"}url: {at}, pinned_sha256: {pin}, token_audience: DEPLOYMENT{"}"})
                operator credentials:  {operatorFile} (mode 0600: whoever holds it administers the provisioner)
                root CA for clients:   {Path.Combine(dir, ProvisionerIdentity.RootCaCertificateFile)} (cloister attest --ca)

                next:
                  cloister provisioner serve {dir} --listen 0.0.0.0:{provisioner.Port}
                  export CLOISTER_CREDENTIALS={operatorFile}
                  cloister deploy --deployment DEPLOYMENT --measurements out/measurements.json --hostname HOST.example.com
                  cloister secrets set DEPLOYMENT NAME < value-file
                  cloister provisioner host add HOSTNAME -o host.json   (then: cloister run --provisioner-credentials host.json)

                """);
            return ExitCodes.Success;
        });
        return command;
    }

    public static Command CreateServe()
    {
        var directory = new Argument<DirectoryInfo>("directory") { Description = "The provisioner's directory (cloister provisioner init)." };
        var listen = new Option<string>("--listen")
        {
            Description = $"The address and port of the one HTTPS listener (default {ProvisionerOptions.DefaultListen}; port 0 picks a free one, printed when listening).",
            DefaultValueFactory = _ => ProvisionerOptions.DefaultListen.ToString(),
        };
        var database = new Option<string?>("--database")
        {
            Description = "postgres://user@host[:port]/database for PostgreSQL (the password from PGPASSWORD keeps it out of ps); default SQLite in DIR/provisioner.db.",
        };
        var attestationRoot = new Option<FileInfo?>("--attestation-root")
        {
            Description = "Trust attestation documents under this root (PEM; the simulator's) instead of the AWS Nitro Enclaves root. Never for production.",
        };
        var trustSimulator = new Option<bool>("--trust-simulator")
        {
            Description = "Trust documents from this machine's simulator (`cloister run`): its root in --sim-root, created if missing. Never for production.",
        };
        var simRoot = new Option<string?>("--sim-root") { Description = "With --trust-simulator: the directory of the simulated root (default ~/.cloister/sim)." };
        var command = new Command("serve", "Run the provisioner until SIGTERM or SIGINT: host, enclave and operator APIs on one HTTPS listener.")
        {
            directory, listen, database, attestationRoot, trustSimulator, simRoot,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var text = parseResult.GetRequiredValue(listen);
            if (!IPEndPoint.TryParse(text, out var endpoint) || !text.Contains(':', StringComparison.Ordinal))
            {
                throw CommandFailedException.Usage($"--listen: '{text}' is not ADDRESS:PORT (127.0.0.1:8443, 0.0.0.0:8443, [::]:8443)");
            }

            var rootPem = parseResult.GetValue(attestationRoot)?.FullName;
            if (parseResult.GetValue(trustSimulator))
            {
                if (rootPem is not null)
                {
                    throw CommandFailedException.Usage("--trust-simulator and --attestation-root name the trusted root twice: give one");
                }

                if (!OperatingSystem.IsLinux())
                {
                    throw CommandFailedException.Usage("--trust-simulator: the simulator runs on Linux only; pass its root with --attestation-root");
                }

                // The same root `cloister run` signs with, so a demo's provisioner and simulator agree without copying files.
                var simDirectory = parseResult.GetValue(simRoot) ?? UserDirectories.SimulatedRoot;
                using (SimulatedRootStore.LoadOrCreate(simDirectory, out _))
                {
                }

                rootPem = Path.Combine(simDirectory, SimulatedRootStore.CertificateFileName);
            }
            else if (parseResult.GetValue(simRoot) is not null)
            {
                throw CommandFailedException.Usage("--sim-root is for --trust-simulator");
            }

            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            void RequestStop(PosixSignalContext context)
            {
                // Handled here: the listener stops, requests in progress finish, the store closes; exit 0.
                context.Cancel = true;
                stop.Cancel();
            }

            using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, RequestStop);
            using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, RequestStop);
            // The provisioner's log (refusals with their reasons, never a value) goes to stderr; stdout has the one listening line.
            using var logging = LoggerFactory.Create(builder => builder
                .SetMinimumLevel(LogLevel.Information)
                .AddSimpleConsole(console =>
                {
                    console.SingleLine = true;
                    console.UseUtcTimestamp = true;
                    console.TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z' ";
                })
                .AddFilter("Microsoft", LogLevel.Warning)
                .Services.Configure<ConsoleLoggerOptions>(options => options.LogToStandardErrorThreshold = LogLevel.Trace));
            var options = new ProvisionerOptions
            {
                Directory = parseResult.GetRequiredValue(directory).FullName,
                Listen = endpoint,
                Database = parseResult.GetValue(database),
                AttestationRootPem = rootPem,
                LoggerFactory = logging,
            };
            RunningProvisioner running;
            try
            {
                running = await ProvisionerServer.StartAsync(options, stop.Token);
            }
            catch (ArgumentException ex)
            {
                throw CommandFailedException.Usage(ex.Message);
            }
            catch (DbException ex)
            {
                throw new CommandFailedException($"the database cannot be opened: {ex.Message}", ExitCodes.Invalid, ex);
            }

            await using (running)
            {
                var storage = options.Database is null ? $"SQLite {Path.Combine(options.Directory, ProvisionerIdentity.DatabaseFile)}" : "PostgreSQL";
                Console.Out.WriteLine(TerminalText.Escape($"provisioner listening on {running.Url.GetLeftPart(UriPartial.Authority)} (pin {Convert.ToHexStringLower(running.Pin.Span)}, {storage})"));
                try
                {
                    await Task.Delay(Timeout.Infinite, stop.Token);
                }
                catch (OperationCanceledException)
                {
                    Console.Out.WriteLine("provisioner stopping");
                }
            }

            return ExitCodes.Success;
        });
        return command;
    }
}
