namespace Cloister.Build.RuntimeBundles;

/// <summary>A Debian package the runtime's libraries were taken from, as pinned in <c>runtime/debian-packages.lock</c>.</summary>
/// <param name="Name">The package name, e.g. <c>libc6</c>.</param>
/// <param name="Version">The exact Debian version, e.g. <c>2.36-9+deb12u13</c>.</param>
/// <param name="Architecture">The Debian architecture, e.g. <c>amd64</c>.</param>
/// <param name="Sha256">The SHA-256 of the <c>.deb</c>, lowercase hex.</param>
public sealed record RuntimePackage(string Name, string Version, string Architecture, string Sha256);
