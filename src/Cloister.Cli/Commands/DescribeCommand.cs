using System.CommandLine;
using Cloister.Build.Eif;

namespace Cloister.Cli.Commands;

/// <summary>
/// <c>cloister describe FILE.eif [--signing-ca PEM]</c>: prints what <c>nitro-cli describe-eif</c> prints. A CRC
/// mismatch or a failed signature check is still printed in full, then reported on stderr with exit code 1.
/// </summary>
/// <remarks>
/// <c>SignatureCheck</c> is stricter than nitro-cli's: besides the COSE signature over PCR0, the signing certificate
/// itself must be canonical DER and, when self-signed, verify with its own key; with <c>--signing-ca</c> it must chain
/// to one of those certificates instead. A certificate issued by another CA is reported on stderr as unchecked unless
/// <c>--signing-ca</c> is given (docs/build.md, "What describe checks").
/// </remarks>
internal static class DescribeCommand
{
    public static Command Create()
    {
        var file = new Argument<FileInfo>("file") { Description = "The enclave image file." };
        var signingCa = new Option<FileInfo?>("--signing-ca")
        {
            Description = "The CA certificate(s) (PEM) the signing certificate must chain to; without it a self-signed certificate is checked against its own key.",
        };
        var hashAlgorithm = MeasurementsJson.CreateHashAlgorithmOption();
        var command = new Command("describe", "Describe an enclave image file (EIF) as nitro-cli describe-eif does.") { file, signingCa, hashAlgorithm };
        command.SetAction(parseResult =>
        {
            var anchors = parseResult.GetValue(signingCa) is { } caFile ? AttestationText.ReadCertificates(caFile, "--signing-ca") : null;
            try
            {
                using var image = EifReader.Open(parseResult.GetRequiredValue(file).FullName);
                using var inspection = image.Inspect(anchors);
                Console.Out.WriteLine(EifDescription.ToJson(image, inspection, MeasurementsJson.HashAlgorithm(parseResult, hashAlgorithm)));
                inspection.ThrowIfCrcMismatch();
                return Report(inspection);
            }
            finally
            {
                Array.ForEach(anchors ?? [], anchor => anchor.Dispose());
            }
        });
        return command;
    }

    private static int Report(EifInspection inspection)
    {
        if (inspection.Signature is not { } signature || inspection.CertificateCheck is not { } certificate)
        {
            return ExitCodes.Success;
        }

        var subject = $"the signing certificate ({signature.Certificate.Subject})";
        if (certificate.Failed)
        {
            throw new CommandFailedException($"{subject} {certificate.Detail}");
        }

        if (inspection.SignatureValid == false)
        {
            throw new CommandFailedException("the signature does not verify: it does not cover this image's PCR0 or was not made by the signing certificate's key");
        }

        if (certificate.Trust == EifCertificateTrust.IssuerNotChecked)
        {
            Console.Error.WriteLine($"cloister: note: {subject} {certificate.Detail}; give --signing-ca to check it");
        }

        return ExitCodes.Success;
    }
}
