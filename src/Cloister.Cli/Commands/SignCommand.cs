using System.CommandLine;
using Cloister.Build.Eif;
using Cloister.Build.Streams;

namespace Cloister.Cli.Commands;

/// <summary>
/// <c>cloister sign FILE.eif --signing-certificate PEM --private-key PEM [--output F]</c>: <c>nitro-cli sign-eif</c>.
/// Adds or replaces the signature section and rewrites the header and CRC, in place unless <c>--output</c> is given.
/// Prints the new measurements.
/// </summary>
internal static class SignCommand
{
    public static Command Create()
    {
        var file = new Argument<FileInfo>("file") { Description = "The enclave image file to sign." };
        var certificate = new Option<FileInfo>("--signing-certificate") { Description = "The signing certificate (PEM).", Required = true };
        var privateKey = new Option<FileInfo>("--private-key") { Description = "The EC private key (PEM) of the certificate.", Required = true };
        var output = new Option<FileInfo?>("--output") { Description = "Write the signed image here instead of replacing FILE." };
        var hashAlgorithm = MeasurementsJson.CreateHashAlgorithmOption();
        var command = new Command("sign", "Sign an enclave image file (EIF), as nitro-cli sign-eif does.") { file, certificate, privateKey, output, hashAlgorithm };
        command.SetAction(parseResult =>
        {
            var input = parseResult.GetRequiredValue(file);
            var destination = parseResult.GetValue(output) ?? input;
            using var signer = Signing.CreateSigner(parseResult.GetRequiredValue(certificate), parseResult.GetRequiredValue(privateKey))!;
            var measurements = AtomicFile.Write(destination.FullName, stream =>
            {
                // Closed before the signed copy replaces it: an open file cannot be replaced everywhere.
                using var image = EifReader.Open(input.FullName);
                return signer.SignImage(image, stream);
            });

            Console.Out.WriteLine(MeasurementsJson.Build(measurements, MeasurementsJson.HashAlgorithm(parseResult, hashAlgorithm)));
            Console.Error.WriteLine("Enclave Image successfully signed.");
            return ExitCodes.Success;
        });
        return command;
    }
}
