using Cloister.Build.Eif;

namespace Cloister.Cli;

/// <summary>What the commands that write signed images share: the signer from two PEM files.</summary>
internal static class Signing
{
    /// <summary>The signer for <c>--signing-certificate</c> and <c>--private-key</c>, or null when neither is given.</summary>
    public static EifSigner? CreateSigner(FileInfo? certificate, FileInfo? privateKey)
    {
        if (certificate is null && privateKey is null)
        {
            return null;
        }

        if (certificate is null || privateKey is null)
        {
            throw CommandFailedException.Usage("--signing-certificate and --private-key go together");
        }

        try
        {
            return EifSigner.FromPemFiles(certificate.FullName, privateKey.FullName);
        }
        catch (ArgumentException ex)
        {
            throw new CommandFailedException($"cannot sign with {certificate.Name} and {privateKey.Name}: {ex.Message}", ExitCodes.Usage, ex);
        }
    }
}
