using System.CommandLine;
using Cloister.Build.Eif;

namespace Cloister.Cli.Commands;

/// <summary>
/// <c>cloister describe FILE.eif</c>: prints what <c>nitro-cli describe-eif</c> prints. A CRC mismatch or a failed
/// signature check is still printed in full, then reported on stderr with exit code 1.
/// </summary>
internal static class DescribeCommand
{
    public static Command Create()
    {
        var file = new Argument<FileInfo>("file") { Description = "The enclave image file." };
        var command = new Command("describe", "Describe an enclave image file (EIF) as nitro-cli describe-eif does.") { file };
        command.SetAction(parseResult =>
        {
            using var image = EifReader.Open(parseResult.GetRequiredValue(file).FullName);
            using var inspection = image.Inspect();
            Console.Out.WriteLine(EifDescription.ToJson(image, inspection, MeasurementsJson.HashAlgorithm));
            inspection.ThrowIfCrcMismatch();
            if (inspection.SignatureValid == false)
            {
                throw new CommandFailedException("the signature does not verify: it does not cover this image's PCR0 or was not made by the signing certificate's key");
            }

            return ExitCodes.Success;
        });
        return command;
    }
}
