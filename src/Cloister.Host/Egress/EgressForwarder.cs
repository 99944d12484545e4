using System.Globalization;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Cloister.Runtime.Logging;
using Cloister.Runtime.Messages;
using Cloister.Runtime.Relay;
using Cloister.Runtime.Vsock;

namespace Cloister.Host.Egress;

/// <summary>
/// The host's end of egress (vsock port 7002): reads each connection's <c>host:port</c> line, resolves the name, checks
/// EVERY resolved address against the non-public ranges, connects to the first checked address that answers, replies
/// <c>OK</c> or <c>ERR &lt;reason&gt;</c>, and relays bytes both ways.
/// </summary>
/// <remarks>
/// The enclave has already applied the manifest's allow/deny rules; this is the host operator's own guard, so a
/// compromised enclave cannot use the host to reach its metadata service or private network. The forwarder connects to
/// the very <see cref="IPAddress"/> it checked and never resolves twice, so DNS cannot change the answer between the
/// check and the connect. A name is refused if any of its addresses is non-public, not just the one that would be used.
/// </remarks>
public sealed class EgressForwarder
{
    private readonly EgressForwarderOptions _options;
    private readonly RelayOptions _relay;
    private readonly LogThrottle _overloadLog;

    private string OverloadReason => string.Create(CultureInfo.InvariantCulture, $"too many connections: the host relays at most {_options.MaxTunnels} at once for this enclave");

    /// <summary>Creates a forwarder.</summary>
    /// <param name="options">The host's egress configuration.</param>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> or one of its required members is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">
    /// A timeout is not positive (the idle timeout may be infinite), <see cref="EgressForwarderOptions.MaxTunnels"/> is less
    /// than 1, or the log interval is not positive.
    /// </exception>
    public EgressForwarder(EgressForwarderOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(options.Resolve, nameof(options.Resolve));
        ArgumentNullException.ThrowIfNull(options.AllowedPrivateNetworks, nameof(options.AllowedPrivateNetworks));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.ConnectTimeout, TimeSpan.Zero, nameof(options.ConnectTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.RequestTimeout, TimeSpan.Zero, nameof(options.RequestTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxTunnels, 1, nameof(options.MaxTunnels));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.OverloadLogInterval, TimeSpan.Zero, nameof(options.OverloadLogInterval));
        RelayOptions.ValidateIdleTimeout(options.IdleTimeout, nameof(options.IdleTimeout));
        _options = options;
        _relay = new RelayOptions { IdleTimeout = options.IdleTimeout };
        _overloadLog = LogThrottle.ForAction(
            destination => Log(EgressForwarderOutcome.Overloaded, destination, OverloadReason),
            options.OverloadLogInterval,
            TimeProvider.System);
    }

    /// <summary>Serves egress connections from <paramref name="listener"/> until <paramref name="cancellationToken"/> is cancelled.</summary>
    /// <param name="listener">The listener on <see cref="VsockEndpoint.EgressPort"/>; the caller owns and disposes it.</param>
    /// <param name="cancellationToken">Stops accepting and closes every relayed connection.</param>
    /// <returns>A task that completes, without throwing, once cancelled and every connection is closed.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="listener"/> is <see langword="null"/>.</exception>
    /// <exception cref="ObjectDisposedException">The listener was disposed while the forwarder ran.</exception>
    /// <remarks><see cref="EgressForwarderOptions.MaxTunnels"/> counts the connections of this run.</remarks>
    public Task RunAsync(VsockListener listener, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(listener);
        return ServeAllAsync(listener, cancellationToken);
    }

    /// <summary>Decides whether an address may be connected to under these options.</summary>
    /// <param name="address">The address.</param>
    /// <param name="refusal">Why not, when it may not.</param>
    /// <returns><see langword="true"/> when the forwarder may connect to <paramref name="address"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="address"/> is <see langword="null"/>.</exception>
    public bool IsAllowed(IPAddress address, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? refusal)
    {
        ArgumentNullException.ThrowIfNull(address);
        refusal = null;
        if (!NonPublicAddress.TryClassify(address, out var range))
        {
            return true;
        }

        if (range.NeverAllowed)
        {
            refusal = $"{address} is {range.Kind}, never a destination";
            return false;
        }

        // An allow-list of IPv4 blocks must also cover the same addresses written IPv4-mapped.
        var plain = address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
        if (_options.AllowPrivateDestinations || _options.AllowedPrivateNetworks.Any(network => network.Contains(plain)))
        {
            return true;
        }

        refusal = $"{address} is {range.Kind} and this host does not allow private destinations";
        return false;
    }

    private async Task ServeAllAsync(VsockListener listener, CancellationToken cancellationToken)
    {
        using var limit = new ConnectionLimit(_options.MaxTunnels);
        await AcceptLoop.RunAsync(token => limit.AcceptAsync(listener.AcceptAsync, token), ServeAsync, cancellationToken);
    }

    private async Task ServeAsync((VsockStream Connection, ConnectionSlot Slot) accepted, CancellationToken cancellationToken)
    {
        var (connection, slot) = accepted;
        using (slot)
        await using (connection)
        {
            var reader = PipeReader.Create(connection, new StreamPipeReaderOptions(leaveOpen: true));
            try
            {
                var request = await ReadRequestAsync(connection, reader, cancellationToken);
                if (request is null)
                {
                    return;
                }

                if (!slot.IsAdmitted)
                {
                    await RefuseOverloadedAsync(connection, request.ToString(), cancellationToken);
                    return;
                }

                using var socket = await ConnectAsync(connection, request, cancellationToken);
                if (socket is null)
                {
                    return;
                }

                await EgressResponse.Ok.WriteAsync(connection, cancellationToken);
                var result = await DuplexRelay.RunAsync(RelayEnd.ForVsock(connection, reader), RelayEnd.ForSocket(socket), _relay, cancellationToken);
                if (result.IdledOut)
                {
                    Log(EgressForwarderOutcome.Idle, request.ToString(), $"closed after {Seconds(_options.IdleTimeout)} without traffic: {result}");
                }
                else
                {
                    Log(EgressForwarderOutcome.Closed, request.ToString(), result.ToString());
                }
            }
            catch (IOException ex)
            {
                Log(EgressForwarderOutcome.Failed, "?", $"the enclave's connection failed: {ex.Message}");
            }
            finally
            {
                await reader.CompleteAsync();
            }
        }
    }

    private async Task<EgressRequest?> ReadRequestAsync(VsockStream connection, PipeReader reader, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.RequestTimeout);
        try
        {
            return await EgressRequest.ReadAsync(reader, timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            await RefuseAsync(connection, EgressForwarderOutcome.Failed, "?", $"no host:port line within {Seconds(_options.RequestTimeout)}", cancellationToken);
        }
        catch (InvalidDataException ex)
        {
            await RefuseAsync(connection, EgressForwarderOutcome.Failed, "?", ex.Message, cancellationToken);
        }
        catch (EndOfStreamException ex)
        {
            Log(EgressForwarderOutcome.Failed, "?", ex.Message);
        }

        return null;
    }

    // Returns the connected socket, or null once the enclave has been told why not.
    private async Task<Socket?> ConnectAsync(VsockStream connection, EgressRequest request, CancellationToken cancellationToken)
    {
        var destination = request.ToString();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.ConnectTimeout);
        try
        {
            IPAddress[] addresses;
            try
            {
                addresses = request.Destination.Address is { } literal ? [literal] : await _options.Resolve(request.Host, timeout.Token);
            }
            catch (SocketException ex)
            {
                await RefuseAsync(connection, EgressForwarderOutcome.Failed, destination, $"cannot resolve {request.Host}: {ex.Message}", cancellationToken);
                return null;
            }

            if (addresses.Length == 0)
            {
                await RefuseAsync(connection, EgressForwarderOutcome.Failed, destination, $"{request.Host} has no addresses", cancellationToken);
                return null;
            }

            foreach (var address in addresses)
            {
                if (!IsAllowed(address, out var refusal))
                {
                    var subject = request.Destination.Address is null ? $"{request.Host} resolves to {refusal}" : refusal;
                    await RefuseAsync(connection, EgressForwarderOutcome.Refused, destination, $"refused: {subject}", cancellationToken);
                    return null;
                }
            }

            var failures = new StringBuilder();
            foreach (var address in addresses)
            {
                var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    await socket.ConnectAsync(new IPEndPoint(address, request.Port), timeout.Token);
                    Log(EgressForwarderOutcome.Connected, destination, $"connected to {new IPEndPoint(address, request.Port)}");
                    return socket;
                }
                catch (SocketException ex)
                {
                    socket.Dispose();
                    failures.Append(failures.Length == 0 ? "" : "; ").Append(CultureInfo.InvariantCulture, $"{new IPEndPoint(address, request.Port)}: {ex.Message}");
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            }

            await RefuseAsync(connection, EgressForwarderOutcome.Failed, destination, $"cannot connect: {failures}", cancellationToken);
            return null;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            await RefuseAsync(connection, EgressForwarderOutcome.Failed, destination, $"resolving and connecting took longer than {Seconds(_options.ConnectTimeout)}", cancellationToken);
            return null;
        }
    }

    // Refusals come as fast as the enclave can open connections: the log gets a line per interval, counting the rest.
    private async Task RefuseOverloadedAsync(VsockStream connection, string destination, CancellationToken cancellationToken)
    {
        await _overloadLog.WriteAsync(destination);
        await AnswerErrorAsync(connection, OverloadReason, cancellationToken);
    }

    private async Task RefuseAsync(VsockStream connection, EgressForwarderOutcome outcome, string destination, string reason, CancellationToken cancellationToken)
    {
        Log(outcome, destination, reason);
        await AnswerErrorAsync(connection, reason, cancellationToken);
    }

    private static async Task AnswerErrorAsync(VsockStream connection, string reason, CancellationToken cancellationToken)
    {
        try
        {
            await EgressResponse.Error(Printable(reason)).WriteAsync(connection, cancellationToken);
        }
        catch (IOException)
        {
            // The enclave hung up first; the refusal is logged, and there is nobody left to tell.
        }
    }

    private void Log(EgressForwarderOutcome outcome, string destination, string detail) =>
        _options.Log?.Invoke(new EgressForwarderEvent(outcome, destination, detail));

    // The ERR line carries printable ASCII only and fits one line; OS error texts and DNS names are not guaranteed to.
    private static string Printable(string reason)
    {
        var limit = Math.Min(reason.Length, EgressResponse.MaxLineLength - 4);
        return string.Create(limit, reason, static (span, source) =>
        {
            for (var i = 0; i < span.Length; i++)
            {
                span[i] = source[i] is >= ' ' and <= '~' ? source[i] : '?';
            }
        });
    }

    private static string Seconds(TimeSpan span) => string.Create(CultureInfo.InvariantCulture, $"{span.TotalSeconds:0.###} s");
}
