using System.CommandLine;
using Cloister.Provisioner.Identity;

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
            var (at, dir) = (TerminalText.Escape(provisioner.ToString()), TerminalText.Escape(path));
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
}
