using System.Globalization;
using Cloister.Runtime.Files;

namespace Cloister.Enclave.Apps;

/// <summary>
/// Resolves an image's <c>USER</c> (<c>name</c>, <c>uid</c>, <c>uid:gid</c>, <c>name:group</c>, …) the way Docker does, against
/// the image's own <c>/etc/passwd</c> and <c>/etc/group</c>. The files are parsed here rather than through <c>getpwnam</c>:
/// our glibc would consult the image's <c>nsswitch.conf</c> and try to load NSS modules that are not in the bundle, and a
/// <c>scratch</c> image has no files at all, which is fine for numeric ids.
/// </summary>
internal static class ImageUser
{
    public static AppCredentials Resolve(string user, string root)
    {
        ArgumentNullException.ThrowIfNull(user);
        if (user.Length == 0)
        {
            // Root, by number: a scratch image without /etc/passwd must still run.
            user = "0";
        }

        var colon = user.IndexOf(':', StringComparison.Ordinal);
        var userPart = colon < 0 ? user : user[..colon];
        var groupPart = colon < 0 ? null : user[(colon + 1)..];
        var passwd = ReadEntries(root, "etc/passwd");

        string? name;
        uint uid, gid;
        if (TryParseId(userPart, out uid))
        {
            var entry = passwd.FirstOrDefault(fields => fields.Length >= 4 && fields[2] == userPart);
            name = entry?[0];
            gid = entry is not null && TryParseId(entry[3], out var primary) ? primary : 0;
        }
        else
        {
            var entry = passwd.FirstOrDefault(fields => fields.Length >= 4 && fields[0] == userPart)
                ?? throw new AppLaunchException($"USER '{user}': no user '{userPart}' in the image's /etc/passwd");
            name = userPart;
            if (!TryParseId(entry[2], out uid) || !TryParseId(entry[3], out gid))
            {
                throw new AppLaunchException($"USER '{user}': the /etc/passwd entry of '{userPart}' has no numeric uid and gid");
            }
        }

        var groups = ReadEntries(root, "etc/group");
        if (groupPart is not null && !TryParseId(groupPart, out gid))
        {
            var entry = groups.FirstOrDefault(fields => fields.Length >= 3 && fields[0] == groupPart)
                ?? throw new AppLaunchException($"USER '{user}': no group '{groupPart}' in the image's /etc/group");
            if (!TryParseId(entry[2], out gid))
            {
                throw new AppLaunchException($"USER '{user}': the /etc/group entry of '{groupPart}' has no numeric gid");
            }
        }

        List<uint> memberOf = [gid];
        if (name is not null)
        {
            foreach (var entry in groups)
            {
                if (entry.Length >= 4 && entry[3].Split(',').Contains(name, StringComparer.Ordinal) && TryParseId(entry[2], out var member) && !memberOf.Contains(member))
                {
                    memberOf.Add(member);
                }
            }
        }

        return new AppCredentials(uid, gid, memberOf);
    }

    private static bool TryParseId(string text, out uint id) =>
        uint.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out id);

    // Like glibc's files backend: comment and malformed lines are skipped, not fatal.
    private static List<string[]> ReadEntries(string root, string relativePath)
    {
        var path = Path.Combine(root, relativePath);
        if (!File.Exists(path))
        {
            return [];
        }

        string text;
        try
        {
            text = BoundedFile.ReadAllText(path, FileSizeLimits.Text, $"the image's /{relativePath}");
        }
        catch (IOException ex)
        {
            throw new AppLaunchException($"USER cannot be resolved: {ex.Message}", ex);
        }

        return [.. text.ReplaceLineEndings("\n").Split('\n').Where(line => line.Length > 0 && line[0] != '#').Select(line => line.Split(':'))];
    }
}
