namespace Cloister.Build.Streams;

/// <summary>
/// Counts the bytes read through it and, when asked, reports the count at most every <see cref="ReportStep"/> bytes
/// (and at the end), so progress costs nothing per read.
/// </summary>
internal sealed class CountingReadStream(Stream inner, Action<long>? progress = null, bool ownsInner = false) : ReadOnlyStream
{
    public const long ReportStep = 4 << 20;

    private long _reported;

    public long Consumed { get; private set; }

    protected override long BytesRead => Consumed;

    public override int Read(Span<byte> buffer) => Count(inner.Read(buffer), buffer.Length);

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        Count(await inner.ReadAsync(buffer, cancellationToken), buffer.Length);

    protected override void Dispose(bool disposing)
    {
        if (disposing && ownsInner)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        if (ownsInner)
        {
            await inner.DisposeAsync();
        }

        await base.DisposeAsync();
    }

    private int Count(int read, int asked)
    {
        Consumed += read;
        if (progress is not null && ((read == 0 && asked > 0) || Consumed - _reported >= ReportStep))
        {
            _reported = Consumed;
            progress(Consumed);
        }

        return read;
    }
}
