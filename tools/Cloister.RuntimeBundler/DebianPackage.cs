namespace Cloister.RuntimeBundler;

/// <summary>One pinned Debian package: a line of <c>runtime/debian-packages.lock</c>.</summary>
/// <param name="Set">What the package is for: <see cref="DebianPackageLock.RuntimeSet"/> or <see cref="DebianPackageLock.ToolchainSet"/>.</param>
/// <param name="Name">The package name (<c>libc6</c>).</param>
/// <param name="Version">The Debian version, epoch included (<c>1:1.2.13.dfsg-1+deb12u1</c>).</param>
/// <param name="Architecture">The Debian architecture (<c>amd64</c>).</param>
/// <param name="Sha256">The SHA-256 of the <c>.deb</c>, 64 lowercase hexadecimal digits.</param>
/// <param name="Size">The size of the <c>.deb</c> in bytes.</param>
/// <param name="Path">Where the mirror serves it, relative to the mirror's root (<c>debian/pool/main/g/glibc/…</c>).</param>
public sealed record DebianPackage(string Set, string Name, string Version, string Architecture, string Sha256, long Size, string Path)
{
    /// <summary>Name, version and architecture, as errors and progress lines name the package.</summary>
    public override string ToString() => $"{Name} {Version} {Architecture}";
}
