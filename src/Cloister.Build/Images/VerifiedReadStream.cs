using System.Security.Cryptography;

namespace Cloister.Build.Images;

/// <summary>
/// A read-only stream that hashes what passes through it and, before it reports the end of the stream, checks the
/// length and digest: a consumer that reads to the end either gets every byte verified or an
/// <see cref="ImageSourceException"/> (<see cref="ImageSourceError.DigestMismatch"/>) instead of a clean end.
/// </summary>
/// <remarks>
/// A layer's uncompressed stream is verified against its diff_id while the compressed stream underneath is verified
/// against the blob digest; decompressors may stop before the last compressed byte, so the outer stream drains the
/// inner one to its end (<see cref="_drainAtEnd"/>) before it checks its own digest, and also when decompression
/// fails, so that corruption is reported as the digest mismatch it is rather than as a decompressor's complaint.
/// </remarks>
internal sealed class VerifiedReadStream : ReadOnlyStream
{
    private readonly Stream _inner;
    private readonly BlobDigest _expected;
    private readonly long _expectedLength;
    private readonly string _label;
    private readonly Stream? _drainAtEnd;
    private readonly IncrementalHash _hash;
    private long _length;
    private bool _verified;

    /// <param name="inner">The unverified content; disposed with this stream.</param>
    /// <param name="expected">The digest the content must have.</param>
    /// <param name="expectedLength">The length it must have, or -1 when unknown.</param>
    /// <param name="label">Names the content in errors, e.g. "layer sha256:… of 127.0.0.1:5000/app:v1".</param>
    /// <param name="drainAtEnd">A stream read to its end before this one's digest is checked.</param>
    public VerifiedReadStream(Stream inner, BlobDigest expected, long expectedLength, string label, Stream? drainAtEnd = null)
    {
        _inner = inner;
        _expected = expected;
        _expectedLength = expectedLength;
        _label = label;
        _drainAtEnd = drainAtEnd;
        _hash = expected.CreateHash();
    }

    protected override long BytesRead => _length;

    public override int Read(Span<byte> buffer)
    {
        if (buffer.IsEmpty || _verified)
        {
            return 0;
        }

        int read;
        try
        {
            read = _inner.Read(buffer);
        }
        catch (Exception ex) when (_drainAtEnd is not null && ex is not (ImageSourceException or OperationCanceledException))
        {
            _drainAtEnd.CopyTo(Null);
            throw Undecodable(ex);
        }

        if (read == 0)
        {
            _drainAtEnd?.CopyTo(Null);
        }

        return Observe(buffer[..read]);
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.IsEmpty || _verified)
        {
            return 0;
        }

        int read;
        try
        {
            read = await _inner.ReadAsync(buffer, cancellationToken);
        }
        catch (Exception ex) when (_drainAtEnd is not null && ex is not (ImageSourceException or OperationCanceledException))
        {
            await _drainAtEnd.CopyToAsync(Null, cancellationToken);
            throw Undecodable(ex);
        }

        if (read == 0 && _drainAtEnd is not null)
        {
            await _drainAtEnd.CopyToAsync(Null, cancellationToken);
        }

        return Observe(buffer.Span[..read]);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inner.Dispose();
            _hash.Dispose();
        }

        base.Dispose(disposing);
    }

    /// <summary>
    /// A decompressor failed. Corruption usually shows there first, so the compressed stream was drained: had its
    /// digest been wrong, that would have been reported; it was right, so the blob itself is malformed.
    /// </summary>
    private ImageSourceException Undecodable(Exception ex) =>
        new(ImageSourceError.Malformed, $"{_label} cannot be decompressed although its blob digest matches: {ex.Message}", ex);

    /// <summary>The one place both read paths account for bytes; at the end of the stream it verifies.</summary>
    private int Observe(ReadOnlySpan<byte> read)
    {
        _length += read.Length;
        if (_expectedLength >= 0 && _length > _expectedLength)
        {
            throw new ImageSourceException(
                ImageSourceError.DigestMismatch,
                $"{_label} is longer than the {_expectedLength} bytes its descriptor declares");
        }

        _hash.AppendData(read);
        if (read.Length > 0)
        {
            return read.Length;
        }

        if (_expectedLength >= 0 && _length != _expectedLength)
        {
            throw new ImageSourceException(
                ImageSourceError.DigestMismatch,
                $"{_label} has {_length} bytes, not the {_expectedLength} its descriptor declares");
        }

        var actual = _expected.Finish(_hash);
        if (actual != _expected)
        {
            throw new ImageSourceException(
                ImageSourceError.DigestMismatch,
                $"{_label}: content hashes to {actual}, not {_expected}");
        }

        _verified = true;
        return 0;
    }
}
