using System.Security.Cryptography;
using Cloister.Build.Streams;

namespace Cloister.Build.RuntimeBundles;

/// <summary>
/// One file of a checked bundle, read from where the bundle is: it hashes what it yields and, with the last byte,
/// refuses the content unless it is the content hashed when the bundle was checked. The bundle file stays open but
/// could be modified in place; this way the bytes an image receives are the bytes checked, without a second read.
/// </summary>
internal sealed class RuntimeBundleContentStream(Stream inner, long length, byte[] expectedSha256, string source, string path) : ReadOnlyStream
{
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private long _read;

    protected override long BytesRead => _read;

    public override long Length => length;

    public override int Read(Span<byte> buffer)
    {
        var read = inner.Read(buffer[..(int)Math.Min(buffer.Length, length - _read)]);
        return Account(buffer[..read]);
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await inner.ReadAsync(buffer[..(int)Math.Min(buffer.Length, length - _read)], cancellationToken);
        return Account(buffer.Span[..read]);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _hash.Dispose();
            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    /// <exception cref="RuntimeBundleException">The content is complete and is not the content checked.</exception>
    private int Account(ReadOnlySpan<byte> bytes)
    {
        _hash.AppendData(bytes);
        _read += bytes.Length;
        if (_read == length && bytes.Length > 0 && !_hash.GetHashAndReset().AsSpan().SequenceEqual(expectedSha256))
        {
            throw new RuntimeBundleException(
                RuntimeBundleError.ChangedAfterCheck, $"{source}: {path} changed after the runtime was checked: its bytes are not the ones hashed");
        }

        return bytes.Length;
    }
}
