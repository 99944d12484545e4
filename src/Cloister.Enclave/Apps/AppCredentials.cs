namespace Cloister.Enclave.Apps;

/// <summary>The identity the app runs under: user id, primary group id and every group it is a member of.</summary>
internal sealed record AppCredentials(uint UserId, uint GroupId, IReadOnlyList<uint> Groups)
{
    public static AppCredentials Root { get; } = new(0, 0, [0]);
}
