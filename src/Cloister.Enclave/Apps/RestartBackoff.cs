using Cloister.Runtime.Manifest;

namespace Cloister.Enclave.Apps;

/// <summary>
/// The manifest's restart policy with Docker-like back-off: 1 s before the first restart, doubling up to 30 s, and back
/// to 1 s once a run lasted at least 30 s (the app was up, so the next failure is a new incident, not a crash loop).
/// </summary>
internal sealed class RestartBackoff(RestartPolicy policy)
{
    public static readonly TimeSpan Initial = TimeSpan.FromSeconds(1);

    public static readonly TimeSpan Maximum = TimeSpan.FromSeconds(30);

    private TimeSpan _next = Initial;

    /// <summary>How many restarts were granted so far.</summary>
    public int Restarts { get; private set; }

    /// <summary>The delay before the next start, or <see langword="null"/> when the policy says the app stays down.</summary>
    public TimeSpan? Next(AppExit exit, TimeSpan ranFor)
    {
        var restart = policy switch
        {
            RestartPolicy.Always => true,
            RestartPolicy.OnFailure => !exit.Succeeded,
            _ => false,
        };
        if (!restart)
        {
            return null;
        }

        if (ranFor >= Maximum)
        {
            _next = Initial;
        }

        var delay = _next;
        _next = TimeSpan.FromTicks(Math.Min(_next.Ticks * 2, Maximum.Ticks));
        Restarts++;
        return delay;
    }
}
