using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Cloister.Build.Cpio;
using Cloister.Build.Eif;
using Cloister.Build.Json;
using Cloister.Host.Nitro;
using Cloister.Kms.Policies;
using Cloister.Runtime.Files;
using Cloister.Runtime.Manifest;

namespace Cloister.Cli.Commands;

/// <summary>
/// <c>cloister trust DIR|F.eif [--kms-policy [--principal ARN] [--pcrs 0,1,2[,3,4,8]] [--instance-id ID]] [--format text|json]</c>:
/// what to trust an image by. Without <c>--kms-policy</c>, its measurements (<c>json</c>: the shape enclaver-io/enclaver#38
/// proposed for <c>enclaver trust</c>, which is nitro-cli's <c>{"Measurements": {…}}</c>); with it, the key policy
/// statement that lets only this image use a KMS key (<see cref="KmsKeyPolicyStatement"/>, <c>docs/kms.md</c>).
/// </summary>
internal static partial class TrustCommand
{
    private const string MeasurementsFile = "measurements.json";

    [GeneratedRegex("^arn:aws(-[a-z]+)*:iam::[0-9]{12}:role/[!-~]+$")]
    private static partial Regex RoleArnRule();

    [GeneratedRegex("^i-([0-9a-f]{8}|[0-9a-f]{17})$")]
    private static partial Regex InstanceIdRule();

    public static Command Create()
    {
        var image = new Argument<string>("image") { Description = "An enclave image file (EIF), or the directory cloister build -o wrote (measurements.json and the EIF)." };
        var kmsPolicy = new Option<bool>("--kms-policy") { Description = "Print the KMS key policy statement that admits only this image instead of its measurements." };
        var principal = new Option<string?>("--principal") { Description = "The IAM principal ARN the statement admits (the host's role); default: a placeholder to replace." };
        var pcrs = new Option<string>("--pcrs")
        {
            Description = "The PCRs the statement pins, from 0,1,2,3,4,8; PCR0 (kms:RecipientAttestation:ImageSha384) always. 3 is the --principal role's, 4 the --instance-id's, 8 the signing certificate's.",
            DefaultValueFactory = _ => "0,1,2",
        };
        var instanceId = new Option<string?>("--instance-id") { Description = "With --pcrs …,4: the EC2 instance whose PCR4 the statement pins." };
        var format = new Option<string>("--format") { Description = "How the measurements are printed.", DefaultValueFactory = _ => "text" };
        format.AcceptOnlyFromAmong("text", "json");
        var hashAlgorithm = MeasurementsJson.CreateHashAlgorithmOption();
        var command = new Command("trust", "Print what to trust an enclave image by: its measurements, or a KMS key policy statement pinned to them.")
        {
            image, kmsPolicy, principal, pcrs, instanceId, format, hashAlgorithm,
        };
        command.SetAction(parseResult =>
        {
            var policyOptions = new Option[] { principal, pcrs, instanceId }.Where(option => parseResult.GetResult(option) is { Implicit: false }).ToList();
            if (!parseResult.GetValue(kmsPolicy))
            {
                if (policyOptions.Count > 0)
                {
                    throw CommandFailedException.Usage($"{policyOptions[0].Name} shapes the key policy statement: give --kms-policy");
                }

                var measured = Read(parseResult.GetRequiredValue(image), needImage: false);
                Console.Out.WriteLine(parseResult.GetRequiredValue(format) == "json"
                    ? Json(measured.Pcrs, MeasurementsJson.HashAlgorithm(parseResult, hashAlgorithm))
                    : Text(measured.Pcrs));
                return ExitCodes.Success;
            }

            if (parseResult.GetResult(format) is { Implicit: false } || parseResult.GetResult(hashAlgorithm) is { Implicit: false })
            {
                throw CommandFailedException.Usage("--kms-policy prints the statement as JSON; --format and --hash-algorithm-name apply to the measurements");
            }

            if (parseResult.GetValue(principal) is { } arn && !KmsKeyPolicyStatement.IsPrincipalArn(arn))
            {
                throw CommandFailedException.Usage($"--principal: '{arn}' is not an IAM principal ARN such as arn:aws:iam::111122223333:role/NAME");
            }

            var pinned = ParsePcrs(parseResult.GetRequiredValue(pcrs));
            var extra = InstanceMeasurements(pinned, parseResult.GetValue(principal), parseResult.GetValue(instanceId));
            var trusted = Read(parseResult.GetRequiredValue(image), needImage: true);
            Console.Out.WriteLine(Policy(trusted, pinned, extra, parseResult.GetValue(principal)).ToJson());
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>What the command learnt about the image: its PCRs (0, 1, 2 and, when signed, 8) and what the policy needs.</summary>
    /// <param name="Pcrs">The image's PCRs by index.</param>
    /// <param name="Name">The image's name (the manifest's, else the EIF's ImageName, else its file name), or <see langword="null"/> when only measurements.json was read.</param>
    /// <param name="Spec">The launch spec <c>/cloister/enclave.json</c>, or <see langword="null"/> when the image has none.</param>
    private sealed record TrustedImage(SortedDictionary<int, byte[]> Pcrs, string? Name, EnclaveLaunchSpec? Spec);

    private static KmsKeyPolicyStatement Policy(TrustedImage trusted, SortedSet<int> pinned, Dictionary<int, byte[]> instance, string? principal)
    {
        var pcrs = new Dictionary<int, byte[]>(instance);
        foreach (var index in pinned.Where(index => !instance.ContainsKey(index)))
        {
            pcrs[index] = trusted.Pcrs.TryGetValue(index, out var value)
                ? value
                : throw new CommandFailedException($"the image is not signed: it has no PCR{index} to pin; leave {index} out of --pcrs");
        }

        var (allow, note) = trusted.Spec?.Manifest.KmsProxy is { } kms
            ? (kms.Allow, null)
            : ((IReadOnlyList<string>?)null, trusted.Spec is null
                ? $"the image has no {EnclavePaths.LaunchSpec} (built with --runtime none or by nitro-cli): the statement grants every operation that takes a Recipient"
                : "the image's manifest has no kms_proxy: the statement grants every operation that takes a Recipient, for the app's own KMS calls");
        KmsKeyPolicyStatement statement;
        try
        {
            statement = KmsKeyPolicyStatement.ForEnclave(trusted.Name!, principal, pcrs, allow);
        }
        catch (ArgumentException ex)
        {
            // ArgumentException appends " (Parameter 'x')"; the user named no parameter.
            var reason = ex.Message.Replace($" (Parameter '{ex.ParamName}')", "", StringComparison.Ordinal);
            throw new CommandFailedException(ex.ParamName == "allowedActions" ? $"the image's kms_proxy.allow: {reason}" : reason, ExitCodes.Invalid, ex);
        }

        if (note is not null)
        {
            Note(note);
        }

        return statement;
    }

    private static SortedSet<int> ParsePcrs(string text)
    {
        var pinned = new SortedSet<int>();
        foreach (var item in text.Split(','))
        {
            if (!int.TryParse(item, NumberStyles.None, CultureInfo.InvariantCulture, out var index) || !KmsKeyPolicyStatement.PinnablePcrs.Contains(index))
            {
                throw CommandFailedException.Usage($"--pcrs: '{item}' is not a PCR a key policy can pin; give a comma-separated list of {string.Join(", ", KmsKeyPolicyStatement.PinnablePcrs)}");
            }

            if (!pinned.Add(index))
            {
                throw CommandFailedException.Usage($"--pcrs: PCR{index} is listed twice");
            }
        }

        return pinned.Contains(0)
            ? pinned
            : throw CommandFailedException.Usage("--pcrs: PCR0 is always pinned (as kms:RecipientAttestation:ImageSha384): it is the image itself");
    }

    /// <summary>
    /// PCR3 and PCR4, which measure the parent instance rather than the image: its IAM role's ARN and its instance id,
    /// each extended as UTF-8 (the Nitro Enclaves User Guide, "Where to get an enclave's measurements").
    /// </summary>
    private static Dictionary<int, byte[]> InstanceMeasurements(SortedSet<int> pinned, string? principal, string? instanceId)
    {
        var measured = new Dictionary<int, byte[]>();
        if (pinned.Contains(3))
        {
            measured[3] = principal is not null && RoleArnRule().IsMatch(principal)
                ? Pcr.ForIamRole(principal)
                : throw CommandFailedException.Usage("--pcrs 3 pins the parent instance's IAM role: give its role ARN (arn:aws:iam::ACCOUNT:role/NAME) as --principal");
        }

        if (pinned.Contains(4))
        {
            measured[4] = instanceId is not null && InstanceIdRule().IsMatch(instanceId)
                ? Pcr.ForInstanceId(instanceId)
                : throw CommandFailedException.Usage("--pcrs 4 pins the parent instance: give its id (i- and 8 or 17 hex digits) as --instance-id");
        }
        else if (instanceId is not null)
        {
            throw CommandFailedException.Usage("--instance-id names PCR4: add 4 to --pcrs");
        }

        return measured;
    }

    private static TrustedImage Read(string path, bool needImage)
    {
        if (File.Exists(path))
        {
            return ReadImage(path, needImage);
        }

        if (!Directory.Exists(path))
        {
            throw CommandFailedException.Usage($"no such file or directory: {path}");
        }

        var measurementsPath = Path.Combine(path, MeasurementsFile);
        if (!File.Exists(measurementsPath))
        {
            throw new CommandFailedException($"{path} has no {MeasurementsFile}: give the directory cloister build -o wrote, or the .eif itself");
        }

        var pcrs = ReadMeasurementsFile(measurementsPath);
        var images = Directory.GetFiles(path, "*.eif");
        if (images.Length > 1)
        {
            throw new CommandFailedException($"{path} holds {images.Length} .eif files; name the one to trust");
        }

        if (images.Length == 0)
        {
            return needImage
                ? throw new CommandFailedException($"{path} has no .eif beside {MeasurementsFile}: the statement's name and actions come from the image; give the .eif")
                : new TrustedImage(pcrs, null, null);
        }

        var trusted = ReadImage(images[0], needImage);
        return pcrs.Count == trusted.Pcrs.Count && pcrs.All(pcr => trusted.Pcrs.TryGetValue(pcr.Key, out var value) && value.AsSpan().SequenceEqual(pcr.Value))
            ? trusted
            : throw new CommandFailedException($"{measurementsPath} does not match {images[0]}: one was rebuilt without the other; trust the .eif itself");
    }

    /// <summary>Measures an EIF; for a policy (<paramref name="forPolicy"/>) also reads its name and launch spec.</summary>
    private static TrustedImage ReadImage(string path, bool forPolicy)
    {
        using var eif = EifReader.Open(path);
        SortedDictionary<int, byte[]> pcrs;
        using (var inspection = eif.Inspect())
        {
            inspection.ThrowIfCrcMismatch();
            if (inspection.Signature is not null && inspection.SignatureValid != true)
            {
                throw new CommandFailedException($"{path}: the signature does not verify (cloister describe says why), so its PCR8 names no signer of this image");
            }

            var measurements = inspection.Measurements;
            pcrs = new SortedDictionary<int, byte[]> { [0] = measurements.Pcr0, [1] = measurements.Pcr1, [2] = measurements.Pcr2 };
            if (measurements.Pcr8 is { } pcr8)
            {
                pcrs[8] = pcr8;
            }
        }

        if (!forPolicy)
        {
            return new TrustedImage(pcrs, null, null);
        }

        // Cloister.Host is built for Linux only; elsewhere the note is left out.
        if (OperatingSystem.IsLinux() && SimulationOnlyImage.FindReason(eif) is { } reason)
        {
            Note($"{path} is simulation-only ({reason}): Nitro hardware cannot boot it, so only cloister run's simulator attests these measurements");
        }

        var spec = ReadLaunchSpec(eif);
        var name = spec?.Manifest.Name ?? eif.ReadMetadata()?.ImageName;
        return new TrustedImage(pcrs, string.IsNullOrEmpty(name) ? Path.GetFileNameWithoutExtension(path) : name, spec);
    }

    /// <summary>The launch spec as the enclave's kernel would leave it: the last of the application ramdisks' copies.</summary>
    private static EnclaveLaunchSpec? ReadLaunchSpec(EifReader eif)
    {
        const string name = "rootfs" + EnclavePaths.LaunchSpec;
        byte[]? json = null;
        foreach (var section in eif.Sections.Where(s => s.Type == EifSectionType.Ramdisk).Skip(1))
        {
            using var reader = new CpioReader(eif.OpenSection(section));
            while (reader.GetNextEntry() is { } entry)
            {
                if (entry.Name == name && entry.Type == CpioEntryType.RegularFile && entry.DataStream is { } data)
                {
                    json = entry.Size <= FileSizeLimits.Json
                        ? ReadAll(data, entry.Size)
                        : throw new CommandFailedException($"the image's {EnclavePaths.LaunchSpec} is {entry.Size} bytes, more than the {FileSizeLimits.Json} a launch spec may be");
                }
            }
        }

        try
        {
            return json is null ? null : EnclaveLaunchSpecJson.Deserialize(json);
        }
        catch (FormatException ex)
        {
            throw new CommandFailedException($"the image's {EnclavePaths.LaunchSpec} is not a launch spec: {ex.Message}", ExitCodes.Invalid, ex);
        }
    }

    private static byte[] ReadAll(Stream data, long size)
    {
        var bytes = new byte[size];
        data.ReadExactly(bytes);
        return bytes;
    }

    /// <summary>PCR0, 1, 2 and 8 of nitro-cli's <c>{"Measurements": {…}}</c>, which <c>cloister build</c> writes.</summary>
    private static SortedDictionary<int, byte[]> ReadMeasurementsFile(string path)
    {
        var bytes = BoundedFile.ReadAllBytes(path, FileSizeLimits.Json, MeasurementsFile);
        try
        {
            using var document = JsonDocument.Parse(bytes);
            if (document.RootElement is not { ValueKind: JsonValueKind.Object } root
                || !root.TryGetProperty("Measurements", out var measurements) || measurements.ValueKind != JsonValueKind.Object)
            {
                throw new CommandFailedException($"{path} is not nitro-cli's measurements JSON: it has no \"Measurements\" object");
            }

            var pcrs = new SortedDictionary<int, byte[]>();
            foreach (var index in (int[])[0, 1, 2, 8])
            {
                var key = $"PCR{index}";
                if (!measurements.TryGetProperty(key, out var value))
                {
                    // Only a signed image has PCR8.
                    if (index == 8)
                    {
                        continue;
                    }

                    throw new CommandFailedException($"{path}: Measurements has no {key}");
                }

                pcrs[index] = value is { ValueKind: JsonValueKind.String } && value.GetString() is { Length: 96 } hex && hex.All(char.IsAsciiHexDigit)
                    ? Convert.FromHexString(hex)
                    : throw new CommandFailedException($"{path}: Measurements.{key} is not 96 hex digits (SHA-384)");
            }

            return pcrs;
        }
        catch (JsonException ex)
        {
            throw new CommandFailedException($"{path} is not JSON: {ex.Message}", ExitCodes.Invalid, ex);
        }
    }

    private static string Json(SortedDictionary<int, byte[]> pcrs, string hashAlgorithm)
    {
        var writer = new SerdeJsonWriter(indented: true);
        writer.WriteStartObject();
        writer.WritePropertyName("Measurements");
        writer.WriteStartObject();
        writer.WriteProperty("HashAlgorithm", hashAlgorithm);
        foreach (var (index, value) in pcrs)
        {
            writer.WriteProperty($"PCR{index}", Convert.ToHexStringLower(value));
        }

        writer.WriteEndObject();
        writer.WriteEndObject();
        return writer.ToString();
    }

    private static string Text(SortedDictionary<int, byte[]> pcrs) =>
        string.Join('\n', pcrs.Select(pcr => $"PCR{pcr.Key}  {Convert.ToHexStringLower(pcr.Value)}"));

    // Notes name paths the user gave, which reach the terminal as every message does: escaped.
    private static void Note(string message) => Console.Error.WriteLine($"cloister: note: {TerminalText.Escape(message)}");
}
