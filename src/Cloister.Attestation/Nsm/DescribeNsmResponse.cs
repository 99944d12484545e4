using System.Formats.Cbor;

namespace Cloister.Attestation.Nsm;

/// <summary>
/// The NSM's version, identity and PCR configuration:
/// <c>{"DescribeNSM":{"version_major","version_minor","version_patch","module_id","max_pcrs","locked_pcrs","digest"}}</c>.
/// </summary>
public sealed class DescribeNsmResponse : NsmResponse
{
    /// <summary>Creates the response; <paramref name="lockedPcrs"/> is kept sorted and without repeats, as the NSM's set is.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="moduleId"/> or <paramref name="lockedPcrs"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="digest"/> is not a defined <see cref="NsmDigest"/>.</exception>
    public DescribeNsmResponse(
        ushort versionMajor,
        ushort versionMinor,
        ushort versionPatch,
        string moduleId,
        ushort maxPcrs,
        IEnumerable<ushort> lockedPcrs,
        NsmDigest digest)
    {
        ArgumentNullException.ThrowIfNull(moduleId);
        ArgumentNullException.ThrowIfNull(lockedPcrs);
        if (!Enum.IsDefined(digest))
        {
            throw new ArgumentOutOfRangeException(nameof(digest), digest, "not an NSM digest");
        }

        VersionMajor = versionMajor;
        VersionMinor = versionMinor;
        VersionPatch = versionPatch;
        ModuleId = moduleId;
        MaxPcrs = maxPcrs;
        LockedPcrs = [.. new SortedSet<ushort>(lockedPcrs)];
        Digest = digest;
    }

    /// <summary>The major version; it changes on breaking API changes.</summary>
    public ushort VersionMajor { get; }

    /// <summary>The minor version; backwards compatible changes.</summary>
    public ushort VersionMinor { get; }

    /// <summary>The patch version.</summary>
    public ushort VersionPatch { get; }

    /// <summary>The NSM's identifier, the <c>module_id</c> of its attestation documents.</summary>
    public string ModuleId { get; }

    /// <summary>How many PCRs the NSM has (32 on Nitro).</summary>
    public ushort MaxPcrs { get; }

    /// <summary>The locked PCRs, ascending.</summary>
    public IReadOnlyList<ushort> LockedPcrs { get; }

    /// <summary>The PCR bank's digest.</summary>
    public NsmDigest Digest { get; }

    internal override void Write(CborWriter writer)
    {
        NsmMessageWriter.WriteStructStart(writer, NsmVariants.DescribeNsm, 7);
        writer.WriteTextString("version_major");
        writer.WriteUInt32(VersionMajor);
        writer.WriteTextString("version_minor");
        writer.WriteUInt32(VersionMinor);
        writer.WriteTextString("version_patch");
        writer.WriteUInt32(VersionPatch);
        writer.WriteTextString("module_id");
        writer.WriteTextString(ModuleId);
        writer.WriteTextString("max_pcrs");
        writer.WriteUInt32(MaxPcrs);
        writer.WriteTextString("locked_pcrs");
        writer.WriteStartArray(LockedPcrs.Count);
        foreach (var index in LockedPcrs)
        {
            writer.WriteUInt32(index);
        }

        writer.WriteEndArray();
        writer.WriteTextString("digest");
        writer.WriteTextString(DigestName(Digest));
        NsmMessageWriter.WriteStructEnd(writer);
    }

    internal static DescribeNsmResponse Read(NsmMessageReader reader)
    {
        ushort? major = null, minor = null, patch = null, maxPcrs = null;
        string? moduleId = null;
        List<ushort>? lockedPcrs = null;
        NsmDigest? digest = null;
        reader.ReadStruct(
            ("version_major", () => major = reader.ReadUInt16()),
            ("version_minor", () => minor = reader.ReadUInt16()),
            ("version_patch", () => patch = reader.ReadUInt16()),
            ("module_id", () => moduleId = reader.ReadTextString()),
            ("max_pcrs", () => maxPcrs = reader.ReadUInt16()),
            ("locked_pcrs", () => lockedPcrs = reader.ReadUInt16Array()),
            ("digest", () => digest = ReadDigest(reader)));
        return new(
            reader.Required(major, "version_major"),
            reader.Required(minor, "version_minor"),
            reader.Required(patch, "version_patch"),
            reader.Required(moduleId, "module_id"),
            reader.Required(maxPcrs, "max_pcrs"),
            reader.Required(lockedPcrs, "locked_pcrs"),
            reader.Required(digest, "digest"));
    }

    private static string DigestName(NsmDigest digest) => digest switch
    {
        NsmDigest.Sha256 => "SHA256",
        NsmDigest.Sha384 => "SHA384",
        _ => "SHA512",
    };

    private static NsmDigest ReadDigest(NsmMessageReader reader)
    {
        var name = reader.ReadTextString();
        return name switch
        {
            "SHA256" => NsmDigest.Sha256,
            "SHA384" => NsmDigest.Sha384,
            "SHA512" => NsmDigest.Sha512,
            _ => throw reader.Fail($"unknown digest '{name}'"),
        };
    }
}
