using Cloister.Host.Simulation;
using Cloister.Runtime.Files;

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
    public void First_runs_at_the_same_time_share_one_root()
    {
        var directory = Path.Combine(Directory.CreateTempSubdirectory("cloister-sim-").FullName, "sim");
        try
        {
            // Dedicated threads behind a barrier, so every call looks for the root before any has written one.
            var results = new (string Thumbprint, bool Created)[8];
            var failures = new System.Collections.Concurrent.ConcurrentBag<Exception>();
            using var start = new Barrier(results.Length);
            var threads = Enumerable.Range(0, results.Length).Select(i => new Thread(() =>
            {
                start.SignalAndWait();
                try
                {
                    using var root = SimulatedRootStore.LoadOrCreate(directory, out var created);
                    results[i] = (root.Certificate.Thumbprint, created);
                }
                catch (Exception ex)
                {
                    failures.Add(ex);
                }
            })).ToList();
            threads.ForEach(thread => thread.Start());
            threads.ForEach(thread => thread.Join());

            Assert.Empty(failures);

            Assert.Single(results.Select(r => r.Thumbprint).Distinct());
            Assert.Single(results, r => r.Created);
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

    [Theory]
    [InlineData(SimulatedRootStore.CertificateFileName, "the simulated root certificate")]
    [InlineData(SimulatedRootStore.KeyFileName, "the simulated root key")]
    public void A_root_file_linked_to_an_endless_device_is_refused_at_its_limit(string name, string what)
    {
        var directory = Path.Combine(Directory.CreateTempSubdirectory("cloister-sim-").FullName, "sim");
        try
        {
            SimulatedRootStore.LoadOrCreate(directory, out _).Dispose();
            File.Delete(Path.Combine(directory, name));
            File.CreateSymbolicLink(Path.Combine(directory, name), "/dev/zero");

            var error = Assert.Throws<FileTooLargeException>(() => SimulatedRootStore.LoadOrCreate(directory, out _));

            Assert.StartsWith(what, error.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(directory)!, recursive: true);
        }
    }
}
