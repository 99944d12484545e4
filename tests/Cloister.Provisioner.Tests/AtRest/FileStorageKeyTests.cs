using System.Security.Cryptography;
using Cloister.Provisioner.AtRest;
using Cloister.Testing;

namespace Cloister.Provisioner.Tests.AtRest;

public sealed class FileStorageKeyTests : IDisposable
{
    private readonly TempRunDirectory _directory = new();

    private string KeyPath => Path.Combine(_directory.Path, "storage.key");

    [Fact]
    public void A_sealed_value_opens_with_its_associated_data_and_key_only()
    {
        using var key = FileStorageKey.Create(KeyPath);
        var sealedValue = key.Seal("hunter2"u8, "secret/web/DB_PASSWORD/1");

        Assert.Equal("hunter2"u8.ToArray(), key.Open(sealedValue, "secret/web/DB_PASSWORD/1"));
        Assert.ThrowsAny<CryptographicException>(() => key.Open(sealedValue, "secret/web/DB_PASSWORD/2"));
        Assert.ThrowsAny<CryptographicException>(() => key.Open(sealedValue, "secret/other/DB_PASSWORD/1"));
        sealedValue[^1] ^= 1;
        Assert.ThrowsAny<CryptographicException>(() => key.Open(sealedValue, "secret/web/DB_PASSWORD/1"));

        using var other = FileStorageKey.Create(Path.Combine(_directory.Path, "other.key"));
        Assert.ThrowsAny<CryptographicException>(() => other.Open(key.Seal("x"u8, "a"), "a"));
    }

    [Fact]
    public void The_key_file_is_32_bytes_mode_0600_and_reloads_to_the_same_key()
    {
        byte[] sealedValue;
        using (var key = FileStorageKey.Create(KeyPath))
        {
            sealedValue = key.Seal("value"u8, "row");
        }

        Assert.Equal(32, new FileInfo(KeyPath).Length);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(KeyPath));
        using var loaded = FileStorageKey.Load(KeyPath);
        Assert.Equal("value"u8.ToArray(), loaded.Open(sealedValue, "row"));
    }

    [Fact]
    public void Sealing_twice_gives_different_bytes()
    {
        using var key = FileStorageKey.Create(KeyPath);
        Assert.NotEqual(key.Seal("same"u8, "row"), key.Seal("same"u8, "row"));
    }

    [Fact]
    public void Create_refuses_an_existing_file_and_Load_refuses_a_readable_or_short_key()
    {
        FileStorageKey.Create(KeyPath).Dispose();
        Assert.Throws<IOException>(() => FileStorageKey.Create(KeyPath));

        File.SetUnixFileMode(KeyPath, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
        Assert.Contains("chmod 600", Assert.Throws<FormatException>(() => FileStorageKey.Load(KeyPath)).Message, StringComparison.Ordinal);

        File.SetUnixFileMode(KeyPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.WriteAllBytes(KeyPath, new byte[31]);
        Assert.Contains("32 bytes", Assert.Throws<FormatException>(() => FileStorageKey.Load(KeyPath)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_refuses_bytes_that_are_not_a_sealed_value()
    {
        using var key = FileStorageKey.Create(KeyPath);
        Assert.ThrowsAny<CryptographicException>(() => key.Open(new byte[10], "row"));
    }

    public void Dispose() => _directory.Dispose();
}
