using Cloister.Attestation.Simulation;
using Cloister.Runtime.Files;

namespace Cloister.Host.Simulation;

/// <summary>
/// Keeps the simulator's root of trust in a directory (the CLI uses <c>~/.cloister/sim/</c>): <c>root.pem</c> and
/// <c>root.key</c>, both mode 0600 in a 0700 directory, created on first use.
/// </summary>
public static class SimulatedRootStore
{
    /// <summary>The certificate's file name.</summary>
    public const string CertificateFileName = "root.pem";

    /// <summary>The private key's file name.</summary>
    public const string KeyFileName = "root.key";

    /// <summary>Loads the root kept in <paramref name="directory"/>, or creates and saves one when there is none.</summary>
    /// <param name="directory">The directory.</param>
    /// <param name="created">Whether a new root was made.</param>
    /// <returns>The root; the caller disposes it.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="directory"/> is <see langword="null"/>.</exception>
    /// <exception cref="InvalidDataException">Only one of the two files exists.</exception>
    /// <exception cref="FormatException">The files are not a P-384 CA certificate and its key.</exception>
    /// <exception cref="IOException">Reading or writing failed.</exception>
    public static SimulatedNitroRoot LoadOrCreate(string directory, out bool created)
    {
        ArgumentNullException.ThrowIfNull(directory);
        Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        // Two first runs at once must not both create a root (nor see one half-written): the loser waits, then loads.
        using var creation = AcquireCreationLock(directory);
        var certificatePath = Path.Combine(directory, CertificateFileName);
        var keyPath = Path.Combine(directory, KeyFileName);
        var hasCertificate = File.Exists(certificatePath);
        if (hasCertificate != File.Exists(keyPath))
        {
            throw new InvalidDataException(
                $"{directory} holds only one of {CertificateFileName} and {KeyFileName}; remove it to make a new simulated root");
        }

        if (hasCertificate)
        {
            created = false;
            return SimulatedNitroRoot.ImportFromPem(
                BoundedFile.ReadAllText(certificatePath, FileSizeLimits.KeyOrCertificate, "the simulated root certificate"),
                BoundedFile.ReadAllText(keyPath, FileSizeLimits.KeyOrCertificate, "the simulated root key"));
        }

        var root = SimulatedNitroRoot.Create();
        try
        {
            WritePrivate(keyPath, root.ExportPrivateKeyPem());
            WritePrivate(certificatePath, root.ExportCertificatePem());
        }
        catch
        {
            root.Dispose();
            throw;
        }

        created = true;
        return root;
    }

    // On Linux .NET takes an exclusive flock for FileShare.None; a held lock throws at once, so wait in steps.
    private static FileStream AcquireCreationLock(string directory)
    {
        var path = Path.Combine(directory, ".lock");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            try
            {
                return new FileStream(path, new FileStreamOptions
                {
                    Mode = FileMode.OpenOrCreate,
                    Access = FileAccess.ReadWrite,
                    Share = FileShare.None,
                    UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
                });
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(50);
            }
        }
    }

    private static void WritePrivate(string path, string content)
    {
        // Created 0600 from the start, so the key is never readable by others, not even for a moment.
        using var stream = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        });
        using var writer = new StreamWriter(stream);
        writer.Write(content);
    }
}
