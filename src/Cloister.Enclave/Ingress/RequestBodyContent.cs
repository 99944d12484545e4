using System.IO.Pipelines;
using System.Net;

namespace Cloister.Enclave.Ingress;

/// <summary>
/// The client's request body as the app request's content, streamed: each read of Kestrel's pipe is written and flushed
/// to the app as it comes, from Kestrel's own buffers, with no copy in between and nothing held back.
/// </summary>
internal sealed class RequestBodyContent(PipeReader body) : HttpContent
{
    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await body.ReadAsync(cancellationToken);
            var buffer = result.Buffer;
            foreach (var segment in buffer)
            {
                await stream.WriteAsync(segment, cancellationToken);
            }

            body.AdvanceTo(buffer.End);
            if (result.IsCompleted || result.IsCanceled)
            {
                return;
            }

            await stream.FlushAsync(cancellationToken);
        }
    }

    // The length, when there is one, travels as the copied Content-Length header; unknown means chunked to the app.
    protected override bool TryComputeLength(out long length)
    {
        length = 0;
        return false;
    }
}
