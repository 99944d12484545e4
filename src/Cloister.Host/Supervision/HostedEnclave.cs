using Cloister.Build.Eif;
using Cloister.Runtime.Manifest;
using Cloister.Runtime.Messages;
using Cloister.Runtime.Vsock;

namespace Cloister.Host.Supervision;

/// <summary>
/// One enclave as the host supervisor drives it, on Nitro hardware or in the simulator. It is prepared first (the
/// host then listens on its vsock ports), started, and ends by itself or through <see cref="StopAsync"/>.
/// </summary>
public abstract class HostedEnclave : IAsyncDisposable
{
    /// <summary>Where it runs, for messages: <c>simulator</c> or <c>nitro</c>.</summary>
    public abstract string Kind { get; }

    /// <summary>The host's side of vsock (CID 3): the host listens here before <see cref="StartAsync"/>.</summary>
    public abstract VsockTransport HostTransport { get; }

    /// <summary>The image's PCRs.</summary>
    public abstract EifMeasurements Measurements { get; }

    /// <summary>The launch spec (manifest) the image carries, or <see langword="null"/> when it has none.</summary>
    public abstract EnclaveLaunchSpec? LaunchSpec { get; }

    /// <summary>The enclave's CID; known once <see cref="StartAsync"/> has returned.</summary>
    /// <exception cref="InvalidOperationException">The enclave has not been started.</exception>
    public abstract uint Cid { get; }

    /// <summary>Completes when the enclave is gone, with how it ended; never faults.</summary>
    public abstract Task<EnclaveTermination> Completion { get; }

    /// <summary>Starts the enclave.</summary>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>A task that completes once the enclave runs.</returns>
    /// <exception cref="EnclaveLaunchException">The enclave could not be started.</exception>
    /// <exception cref="InvalidOperationException">It was started before.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public abstract Task StartAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Stops the enclave: asks its supervisor to stop the app (which gets SIGTERM), waits up to
    /// <paramref name="gracePeriod"/>, then ends it by force.
    /// </summary>
    /// <param name="gracePeriod">How long the app may take to exit by itself.</param>
    /// <returns>How the enclave ended.</returns>
    /// <exception cref="InvalidOperationException">The enclave has not been started.</exception>
    public abstract Task<EnclaveTermination> StopAsync(TimeSpan gracePeriod);

    /// <summary>
    /// Asks the supervisor inside to stop the app gracefully, over the vsock stop port (<see cref="StopRequest"/>).
    /// </summary>
    /// <returns>Whether the supervisor acknowledged; <see langword="false"/> when it does not listen (still booting, or an
    /// image without the Cloister supervisor) or failed to answer.</returns>
    private protected async Task<bool> TryRequestStopAsync()
    {
        try
        {
            await StopRequest.SendAsync(HostTransport, Cid);
            return true;
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Ends the enclave if it still runs and releases what it holds (run directory, sockets, NSM).</summary>
    /// <returns>A task that completes once everything is released.</returns>
    public abstract ValueTask DisposeAsync();
}
