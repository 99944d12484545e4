using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Cloister.Cli.Provisioning;
using Cloister.Provisioner.Api;
using Cloister.Provisioner.Identity;
using Cloister.Runtime.Provisioning;

namespace Cloister.Cli.Commands;

/// <summary>
/// <c>cloister provisioner init|serve|host|audit</c>: create and run a provisioner, issue and revoke host
/// certificates, read the audit log. The operator commands speak the operator API (<see cref="OperatorClient"/>).
/// </summary>
internal static class ProvisionerCommand
{
    /// <summary>The largest page the provisioner serves.</summary>
    private const int MaxAuditPage = 1000;

    public static Command Create() => new("provisioner", "Create and run a provisioner; manage its hosts; read its audit log.")
    {
        ProvisionerServeCommand.CreateInit(),
        ProvisionerServeCommand.CreateServe(),
        new Command("host", "Issue and revoke host certificates (what a host presents to fetch tokens).") { CreateHostAdd(), CreateHostRevoke() },
        CreateAudit(),
    };

    private static Command CreateHostAdd()
    {
        var name = new Argument<string>("name") { Description = "The host's name (its certificate's CN, and the name the audit log records)." };
        var output = new Option<FileInfo>("--output", "-o") { Description = "Where to write the host's credentials (mode 0600; must not exist).", Required = true };
        var command = new Command("add", "Make a host key here, have the provisioner certify it, and write the host's credentials file.") { name, output };
        var operatorOptions = new OperatorOptions(command);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var hostName = CheckHostName(parseResult.GetRequiredValue(name));
            var file = parseResult.GetRequiredValue(output);
            // Checked before the provisioner issues anything, so a mistyped path never leaves a certificate without its key.
            if (file.Exists)
            {
                throw CommandFailedException.Usage($"{file.FullName} exists; choose another --output (credentials are never overwritten)");
            }

            var credentials = operatorOptions.ReadCredentials(parseResult);
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP384);
            var subject = new X500DistinguishedNameBuilder();
            subject.AddCommonName(hostName);
            var csr = new CertificateRequest(subject.Build(), key, HashAlgorithmName.SHA384).CreateSigningRequestPem();
            using var client = operatorOptions.Connect(parseResult, credentials);
            var answer = await client.SendJsonAsync(
                HttpMethod.Post, "/v1/hosts", new HostRequest { Name = hostName, Csr = csr }, OperatorJson.Default.HostRequest, OperatorJson.Default.HostCertificate, cancellationToken);
            CheckIssued(answer.Certificate, key, hostName);
            new ProvisionerCredentials
            {
                Provisioner = client.BaseAddress,
                PinnedSha256 = credentials.PinnedSha256,
                Name = hostName,
                Certificate = answer.Certificate,
                PrivateKey = key.ExportPkcs8PrivateKeyPem(),
            }.Write(file.FullName);
            Console.Out.WriteLine(TerminalText.Escape($"host {hostName}: certificate issued; credentials written to {file.FullName} (mode 0600)"));
            Console.Out.WriteLine("Give that file to the host only: cloister run --provisioner-credentials host.json");
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command CreateHostRevoke()
    {
        var name = new Argument<string>("name") { Description = "The host's name." };
        var command = new Command("revoke", "Revoke a host's certificate: its next request for a token is refused.") { name };
        var operatorOptions = new OperatorOptions(command);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var hostName = CheckHostName(parseResult.GetRequiredValue(name));
            using var client = operatorOptions.Connect(parseResult);
            await client.SendAsync(HttpMethod.Delete, $"/v1/hosts/{OperatorOptions.Segment(hostName)}", cancellationToken);
            Console.Out.WriteLine(TerminalText.Escape($"host {hostName}: revoked"));
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command CreateAudit()
    {
        var after = new Option<long>("--after") { Description = "Only entries after this id (to page on, or to follow)." };
        var limit = new Option<int>("--limit") { Description = $"At most this many entries, 1 to {MaxAuditPage} (default 100).", DefaultValueFactory = _ => 100 };
        var json = new Option<bool>("--json") { Description = "Print the entries as JSON, every field the provisioner records." };
        var command = new Command("audit", "Print the audit log: who received what, when, with which PCRs and which host; never a value.") { after, limit, json };
        var operatorOptions = new OperatorOptions(command);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var (afterId, count) = (parseResult.GetValue(after), parseResult.GetValue(limit));
            if (afterId < 0 || count is <= 0 or > MaxAuditPage)
            {
                throw CommandFailedException.Usage(afterId < 0 ? $"--after: {afterId} is not an entry id" : $"--limit: {count} is not a number from 1 to {MaxAuditPage}");
            }

            using var client = operatorOptions.Connect(parseResult);
            var page = await client.SendAsync(
                HttpMethod.Get, string.Create(CultureInfo.InvariantCulture, $"/v1/audit?after={afterId}&limit={count}"), content: null, OperatorJson.Default.AuditPage, cancellationToken);
            Console.Out.Write(parseResult.GetValue(json)
                ? JsonSerializer.Serialize(page, OperatorJson.Default.AuditPage) + Environment.NewLine
                : AuditTable(page.Entries));
            return ExitCodes.Success;
        });
        return command;
    }

    private static string AuditTable(IReadOnlyList<AuditView> entries)
    {
        string[][] rows =
        [
            ["ID", "AT", "ACTOR", "ACTION", "DEPLOYMENT", "HOST", "OUTCOME", "REASON"],
            .. entries.Select(entry => new[]
            {
                entry.Id.ToString(CultureInfo.InvariantCulture), AttestationText.FormatTime(entry.At), entry.Actor, entry.Action,
                entry.Deployment ?? "-", entry.Host ?? "-", entry.Outcome, entry.Reason ?? "-",
            }.Select(TerminalText.Escape).ToArray()),
        ];
        var widths = Enumerable.Range(0, rows[0].Length).Select(column => rows.Max(row => row[column].Length)).ToArray();
        var table = new StringBuilder();
        foreach (var row in rows)
        {
            table.AppendJoin("  ", row.Select((cell, column) => column == row.Length - 1 ? cell : cell.PadRight(widths[column]))).AppendLine();
        }

        return table.ToString();
    }

    private static string CheckHostName(string name) =>
        Names.IsEntityName(name)
            ? name
            : throw CommandFailedException.Usage($"'{name}' is not a host name: 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit");

    /// <summary>The issued certificate must certify the key made here, for this name: anything else would be a host file that cannot work.</summary>
    private static void CheckIssued(string pem, ECDsa key, string hostName)
    {
        try
        {
            using var certificate = X509Certificate2.CreateFromPem(pem);
            var ours = key.ExportSubjectPublicKeyInfo();
            if (!certificate.PublicKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(ours)
                || certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false) != hostName)
            {
                throw new CommandFailedException($"the provisioner issued a certificate for another key or name ({certificate.Subject}); nothing written");
            }
        }
        catch (CryptographicException ex)
        {
            throw new CommandFailedException($"the provisioner's answer holds no certificate: {ex.Message}", ExitCodes.Invalid, ex);
        }
    }
}
