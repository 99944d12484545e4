using System.IO.Pipelines;
using System.Text;
using Cloister.Runtime.Vsock;

namespace Cloister.Runtime.Messages;

/// <summary>
/// The graceful stop on vsock port <see cref="VsockEndpoint.StopPort"/>: the host connects to the enclave, writes the
/// line <c>stop</c>, and the supervisor answers <c>stopping</c> before it sends the app SIGTERM. The app's exit then
/// arrives on the status stream as usual; after its grace period the host ends the enclave by force.
/// </summary>
/// <remarks>
/// Only the parent instance reaches an enclave's vsock ports, and it can terminate the enclave anyway, so the request
/// needs no authentication: it grants nothing the host does not already have.
/// </remarks>
public static class StopRequest
{
    /// <summary>The request line.</summary>
    public const string Request = "stop";

    /// <summary>The supervisor's answer once it has passed the request on.</summary>
    public const string Acknowledgement = "stopping";

    private const int MaxLineLength = 64;
    private static readonly TimeSpan s_patience = TimeSpan.FromSeconds(5);

    /// <summary>Host side: asks the enclave's supervisor to stop the app and waits for its acknowledgement.</summary>
    /// <param name="transport">The host's vsock transport.</param>
    /// <param name="enclaveCid">The enclave's CID.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>A task that completes once the supervisor acknowledged.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="transport"/> is <see langword="null"/>.</exception>
    /// <exception cref="VsockConnectException">The supervisor does not listen (yet, or any more).</exception>
    /// <exception cref="InvalidDataException">The supervisor answered something else.</exception>
    /// <exception cref="EndOfStreamException">The connection closed before the answer.</exception>
    /// <exception cref="IOException">The connection failed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled, or no answer came within 5 s.</exception>
    public static async Task SendAsync(VsockTransport transport, uint enclaveCid, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(transport);
        using var patience = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        patience.CancelAfter(s_patience);
        await using var stream = await transport.ConnectAsync(new VsockEndpoint(enclaveCid, VsockEndpoint.StopPort), patience.Token);
        await LineIO.WriteAsciiLineAsync(stream, Request, patience.Token);
        var reader = PipeReader.Create(stream);
        var answer = await ReadLineAsync(reader, "the stop acknowledgement", patience.Token)
            ?? throw new EndOfStreamException("the supervisor closed the stop connection without acknowledging");
        if (answer != Acknowledgement)
        {
            throw new InvalidDataException($"the supervisor answered '{answer}' to the stop request, not '{Acknowledgement}'");
        }
    }

    /// <summary>
    /// Enclave side: serves stop requests on <see cref="VsockEndpoint.StopPort"/> until the server is disposed; each one
    /// calls <paramref name="stop"/> and is acknowledged. Anything else is answered with a reason and closed.
    /// </summary>
    /// <param name="transport">The enclave's vsock transport.</param>
    /// <param name="stop">Stops the app (sends it SIGTERM); called once per request.</param>
    /// <param name="cancellationToken">Cancels binding.</param>
    /// <returns>The running server.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    /// <exception cref="IOException">The port cannot be bound.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static Task<VsockServer> ServeAsync(VsockTransport transport, Action stop, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stop);
        return VsockServer.StartAsync(transport, VsockEndpoint.StopPort, (connection, token) => AnswerAsync(connection, stop, token), cancellationToken);
    }

    private static async Task AnswerAsync(VsockStream connection, Action stop, CancellationToken cancellationToken)
    {
        await using (connection)
        {
            using var patience = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            patience.CancelAfter(s_patience);
            try
            {
                var line = await ReadLineAsync(PipeReader.Create(connection), "the stop request", patience.Token);
                if (line != Request)
                {
                    await LineIO.WriteAsciiLineAsync(connection, $"unknown request '{line}'", patience.Token);
                    return;
                }

                stop();
                await LineIO.WriteAsciiLineAsync(connection, Acknowledgement, patience.Token);
            }
            catch (Exception ex) when (ex is IOException or InvalidDataException or OperationCanceledException)
            {
                // A peer that sends garbage, goes away or stalls gets nothing: only a well-formed request stops the app.
            }
        }
    }

    private static ValueTask<string?> ReadLineAsync(PipeReader reader, string what, CancellationToken cancellationToken) =>
        LineFraming.ReadLineAsync(reader, MaxLineLength, what, bytes => Encoding.ASCII.GetString(bytes), cancellationToken);
}
