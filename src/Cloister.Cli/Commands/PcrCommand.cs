using System.CommandLine;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Cloister.Build.Eif;
using Cloister.Runtime.Files;

namespace Cloister.Cli.Commands;

/// <summary>
/// <c>cloister pcr --input F | --signing-certificate F</c>: <c>nitro-cli pcr</c>. Prints <c>{"PCR": hex}</c> (the
/// extend of the file's SHA-384) or <c>{"PCR8": hex}</c> (the extend of the certificate's DER SHA-384), the keys
/// nitro-cli uses. <c>--input</c> is streamed, so it must be a file that says its size (<see cref="StreamedFile"/>):
/// nitro-cli would hash <c>/dev/zero</c> forever.
/// </summary>
internal static class PcrCommand
{
    public static Command Create()
    {
        var input = new Option<FileInfo?>("--input") { Description = "Any file: prints the PCR of its bytes." };
        var certificate = new Option<FileInfo?>("--signing-certificate") { Description = "A certificate (PEM or DER): prints its PCR8." };
        var command = new Command("pcr", "Compute a PCR value as nitro-cli pcr does.") { input, certificate };
        command.SetAction(parseResult =>
        {
            var (inputFile, certificateFile) = (parseResult.GetValue(input), parseResult.GetValue(certificate));
            if ((inputFile is null) == (certificateFile is null))
            {
                throw CommandFailedException.Usage("give exactly one of --input and --signing-certificate");
            }

            if (inputFile is not null)
            {
                // SHA384.HashData reads in small chunks: the buffer turns them into 1 MiB system calls.
                using var stream = new BufferedStream(StreamedFile.OpenRead(inputFile.FullName, "--input"), 1 << 20);
                Console.Out.WriteLine(MeasurementsJson.Single("PCR", Pcr.ForContent(stream)));
            }
            else
            {
                using var parsed = LoadCertificate(certificateFile!.FullName);
                Console.Out.WriteLine(MeasurementsJson.Single("PCR8", Pcr.ForCertificate(parsed)));
            }

            return ExitCodes.Success;
        });
        return command;
    }

    private static X509Certificate2 LoadCertificate(string path)
    {
        var bytes = BoundedFile.ReadAllBytes(path, FileSizeLimits.KeyOrCertificate, "--signing-certificate");
        try
        {
            return bytes.AsSpan().StartsWith("-----"u8)
                ? X509Certificate2.CreateFromPem(System.Text.Encoding.ASCII.GetString(bytes))
                : X509CertificateLoader.LoadCertificate(bytes);
        }
        catch (CryptographicException ex)
        {
            throw new CommandFailedException($"{path} is not a certificate: {ex.Message}", ExitCodes.Invalid, ex);
        }
    }
}
