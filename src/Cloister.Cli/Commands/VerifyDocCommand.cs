using System.CommandLine;

namespace Cloister.Cli.Commands;

/// <summary><c>cloister verify-doc FILE</c>: verify an attestation document.</summary>
internal static class VerifyDocCommand
{
    public static Command Create()
    {
        var file = new Argument<FileInfo>("file") { Description = "The attestation document (raw CBOR COSE_Sign1)." };
        var command = new Command("verify-doc", "Verify an AWS Nitro attestation document.") { file };
        command.SetAction(parseResult =>
        {
            var path = parseResult.GetRequiredValue(file);
            var bytes = File.ReadAllBytes(path.FullName);
            Console.Out.WriteLine($"{bytes.Length} bytes");
            return ExitCodes.Success;
        });
        return command;
    }
}
