using Cloister.Host.Simulation;

namespace Cloister.Host.Tests.Simulation;

public sealed class SimulatedRootStoreTests
{
    [Fact]
    public void The_root_is_created_once_with_private_files_and_then_loaded()
    {
        var directory = Path.Combine(Directory.CreateTempSubdirectory("cloister-sim-").FullName, "sim");
        try
        {
            string thumbprint;
            using (var created = SimulatedRootStore.LoadOrCreate(directory, out var wasCreated))
            {
                Assert.True(wasCreated);
                thumbprint = created.Certificate.Thumbprint;
            }

            foreach (var name in new[] { SimulatedRootStore.CertificateFileName, SimulatedRootStore.KeyFileName })
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(directory, name)));
            }

            using var loaded = SimulatedRootStore.LoadOrCreate(directory, out var createdAgain);
            Assert.False(createdAgain);
            Assert.Equal(thumbprint, loaded.Certificate.Thumbprint);
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(directory)!, recursive: true);
        }
    }

    [Fact]
    public void A_lone_certificate_is_an_error_not_a_silent_new_root()
    {
        var directory = Directory.CreateTempSubdirectory("cloister-sim-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(directory, SimulatedRootStore.CertificateFileName), "-----BEGIN CERTIFICATE-----\n");
            var error = Assert.Throws<InvalidDataException>(() => SimulatedRootStore.LoadOrCreate(directory, out _));
            Assert.Contains(SimulatedRootStore.KeyFileName, error.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
