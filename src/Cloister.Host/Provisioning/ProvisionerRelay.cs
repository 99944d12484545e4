using System.Net;
using System.Net.Sockets;
using Cloister.Runtime.Relay;
using Cloister.Runtime.Vsock;

namespace Cloister.Host.Provisioning;

/// <summary>
/// The provisioner relay on vsock 7003: each enclave connection is piped, as raw bytes, to the provisioner's TCP address.
/// TLS runs end to end between the enclave and the provisioner, so the host carries ciphertext only.
/// </summary>
public sealed class ProvisionerRelay
{
    private readonly DnsEndPoint _provisioner;
    private readonly TimeSpan _connectTimeout;
    private readonly RelayOptions _relay;
    private readonly Action<string> _notice;

    /// <summary>Creates the relay.</summary>
    /// <param name="provisioner">The provisioner's TCP address.</param>
    /// <param name="connectTimeout">The bound on connecting to it.</param>
    /// <param name="idleTimeout">How long a relayed connection may carry nothing before both sides are ended.</param>
    /// <param name="notice">Receives one line per connection.</param>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A timeout is not positive.</exception>
    public ProvisionerRelay(DnsEndPoint provisioner, TimeSpan connectTimeout, TimeSpan idleTimeout, Action<string> notice)
    {
        ArgumentNullException.ThrowIfNull(provisioner);
        ArgumentNullException.ThrowIfNull(notice);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(connectTimeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(idleTimeout, TimeSpan.Zero);
        _provisioner = provisioner;
        _connectTimeout = connectTimeout;
        _relay = new RelayOptions { IdleTimeout = idleTimeout };
        _notice = notice;
    }

    /// <summary>Relays one enclave connection to the provisioner until either side ends it.</summary>
    /// <param name="stream">The enclave's connection; the caller disposes it.</param>
    /// <param name="cancellationToken">Stops the relay.</param>
    /// <returns>A task that completes once the relay has ended; a provisioner that cannot be reached closes the enclave's connection.</returns>
    public async Task ServeAsync(VsockStream stream, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var where = $"{_provisioner.Host}:{_provisioner.Port}";
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        using (var connecting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            connecting.CancelAfter(_connectTimeout);
            try
            {
                await socket.ConnectAsync(_provisioner, connecting.Token);
            }
            catch (SocketException ex)
            {
                _notice($"provisioner relay: cannot connect to {where}: {ex.Message}");
                return;
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                _notice($"provisioner relay: {where} did not accept within {_connectTimeout.TotalSeconds:0.#} s");
                return;
            }
        }

        var result = await DuplexRelay.RunAsync(RelayEnd.ForVsock(stream), RelayEnd.ForSocket(socket), _relay, cancellationToken);
        _notice($"provisioner relay to {where}: {result}{(result.IdledOut ? ", closed when idle" : "")}");
    }
}
