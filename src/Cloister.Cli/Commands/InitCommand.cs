using System.CommandLine;
using Cloister.Build.Manifests;

namespace Cloister.Cli.Commands;

/// <summary><c>cloister init</c>: write a commented starter <c>enclave.yaml</c>.</summary>
internal static class InitCommand
{
    public static Command Create()
    {
        var name = new Option<string>("--name") { Description = "The enclave's name (a DNS label).", DefaultValueFactory = _ => "my-enclave" };
        var image = new Option<string>("--image") { Description = "The image reference.", DefaultValueFactory = _ => "oci-layout:./image:latest" };
        var output = new Option<FileInfo>("--output", "-o") { Description = "Where to write the manifest.", DefaultValueFactory = _ => new FileInfo("enclave.yaml") };
        var force = new Option<bool>("--force") { Description = "Overwrite an existing file." };
        var command = new Command("init", "Write a commented starter enclave.yaml.") { name, image, output, force };
        command.SetAction(parseResult =>
        {
            var file = parseResult.GetRequiredValue(output);
            var text = EnclaveManifestTemplate.Render(parseResult.GetRequiredValue(name), parseResult.GetRequiredValue(image));
            try
            {
                // Refuse to write a starter the reader would reject, so `init` never hands the user a broken file.
                EnclaveManifestReader.Parse(text, file.Name);
            }
            catch (ManifestException ex)
            {
                throw CommandFailedException.Usage(string.Join("; ", ex.Errors.Select(e => e.Message)));
            }

            if (file.Exists && !parseResult.GetValue(force))
            {
                throw CommandFailedException.Usage($"{file.FullName} exists; pass --force to overwrite it");
            }

            File.WriteAllText(file.FullName, text);
            Console.Out.WriteLine($"wrote {file.FullName}");
            return ExitCodes.Success;
        });
        return command;
    }
}
