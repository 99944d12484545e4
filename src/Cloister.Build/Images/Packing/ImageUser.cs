using System.Globalization;

namespace Cloister.Build.Images.Packing;

/// <summary>The numeric user and group a packed image runs its process as (<c>config.User</c> = <c>UID:GID</c>).</summary>
/// <param name="Uid">The user id.</param>
/// <param name="Gid">The group id.</param>
public sealed record ImageUser(uint Uid, uint Gid)
{
    /// <summary>root (0:0).</summary>
    public static ImageUser Root { get; } = new(0, 0);

    /// <summary>The account name <c>/etc/passwd</c> and <c>/etc/group</c> give this user and group: <c>root</c> for 0, else <c>app</c>.</summary>
    public string UserName => Uid == 0 ? "root" : "app";

    /// <summary>The group's name: <c>root</c> for 0, else <c>app</c>.</summary>
    public string GroupName => Gid == 0 ? "root" : "app";

    /// <summary>The home directory <c>/etc/passwd</c> names: <c>/root</c> or <c>/home/app</c>.</summary>
    public string Home => Uid == 0 ? "/root" : "/home/app";

    /// <summary>Parses <c>UID</c> or <c>UID:GID</c>, both decimal; the group defaults to the user id.</summary>
    /// <param name="text">The value of <c>--user</c>.</param>
    /// <returns>The user.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is <see langword="null"/>.</exception>
    /// <exception cref="FormatException">A part is not a decimal number below 2^32 (names cannot be resolved: the image has no user database yet).</exception>
    public static ImageUser Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        var uid = ParseId(colon < 0 ? text : text[..colon], "UID", text);
        var gid = colon < 0 ? uid : ParseId(text[(colon + 1)..], "GID", text);
        return new ImageUser(uid, gid);
    }

    /// <summary><c>UID:GID</c>, the form written to <c>config.User</c>.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Uid}:{Gid}");

    private static uint ParseId(string part, string what, string text) =>
        part.Length > 0 && part.AsSpan().IndexOfAnyExceptInRange('0', '9') < 0 && uint.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var id)
            ? id
            : throw new FormatException($"'{text}': the {what} '{part}' is not a decimal number (expected UID or UID:GID)");
}
